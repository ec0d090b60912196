import { TooManyRequestsError } from '@sepal/contracts';
import { dataConfigSchema } from '../data.config';
import { DatasetVersionsRepository } from '../datasets/dataset-versions.repository';
import { DatasetsService } from '../datasets/datasets.service';
import { VersionWriterService } from '../datasets/version-writer.service';
import { FakeDatasets, inMemoryAudit, InMemoryFeedback } from '../../test/fakes';
import { FeedbackRepository } from './feedback.repository';
import { FeedbackService } from './feedback.service';
import { PredictionLogService } from '../prediction-log/prediction-log.service';

function setup(env: Record<string, string> = {}) {
  const feedback = new InMemoryFeedback();
  const datasets = new FakeDatasets();
  const audit = inMemoryAudit();
  const config = dataConfigSchema.parse({ FEEDBACK_COMMIT_EVERY: '0', ...env });
  const service = new FeedbackService(
    feedback as unknown as FeedbackRepository,
    datasets as unknown as DatasetVersionsRepository,
    datasets as unknown as DatasetsService,
    datasets as unknown as VersionWriterService,
    audit.service,
    config,
    { label: async () => undefined } as unknown as PredictionLogService,
  );
  return { feedback, datasets, audit: audit.entries, service };
}

const sample = (submittedBy: string, clientId?: string) => ({
  dataset: 'data',
  features: [1, 2],
  label: 'y',
  submittedBy,
  clientId,
});

describe('FeedbackService', () => {
  it("stores a sample under the server's id with the key that sent it; the client's id only deduplicates", async () => {
    const { feedback, service } = setup();
    const clientId = '5a1f7f4e-8a0b-4c1e-9d2f-3b4c5d6e7f80';
    const receipt = await service.receive(sample('shop', clientId));
    expect(receipt.id).not.toBe(clientId);
    expect(feedback.rows).toEqual([
      expect.objectContaining({ id: receipt.id, submittedBy: 'shop', clientId, label: 1, className: 'y' }),
    ]);
    // The same client id from the same key is stored once; from another key it is another sample.
    expect((await service.receive(sample('shop', clientId))).id).toBe(receipt.id);
    expect((await service.receive(sample('other', clientId))).id).not.toBe(receipt.id);
    expect(feedback.rows.map((r) => r.submittedBy)).toEqual(['shop', 'other']);
  });

  it('with keys on, holds each key to FEEDBACK_RATE_PER_KEY (429 naming the limit and the variable), other keys unaffected', async () => {
    const { feedback, service } = setup({
      SEPAL_API_KEY: 'c0ffee42deadbeef9f8e7d6c5b4a3928',
      FEEDBACK_RATE_PER_KEY: '1',
      FEEDBACK_BURST_PER_KEY: '2',
    });
    await service.receive(sample('flood'));
    await service.receive(sample('flood'));
    const refused = service.receive(sample('flood'));
    await expect(refused).rejects.toThrow(TooManyRequestsError);
    await expect(service.receive(sample('flood'))).rejects.toThrow(
      /key 'flood' sent more feedback samples than allowed: 1 per minute \(FEEDBACK_RATE_PER_KEY=1\)/,
    );
    await service.receive(sample('calm'));
    expect(feedback.rows.map((r) => r.submittedBy)).toEqual(['flood', 'flood', 'calm']);
  });

  it('with keys off (this machine only), refuses no sample: the limit is per identified key, as for predictions', async () => {
    const { feedback, service } = setup({ FEEDBACK_RATE_PER_KEY: '1', FEEDBACK_BURST_PER_KEY: '2' });
    for (let i = 0; i < 10; i++) await service.receive(sample('anonymous'));
    expect(feedback.rows).toHaveLength(10);
  });

  it('commits every N samples into the train split only, audited as an automatic commit by the key that sent the Nth', async () => {
    const { datasets, audit, feedback, service } = setup({ FEEDBACK_COMMIT_EVERY: '3' });
    await service.receive(sample('a'));
    await service.receive(sample('b'));
    const receipt = await service.receive(sample('c'));
    expect(receipt.committedVersion).toBe('2'.repeat(64));
    expect(datasets.appended).toHaveLength(1);
    expect(datasets.appended[0].change).toMatchObject({ reason: 'feedback', trainOnly: true });
    expect(datasets.appended[0].rows.map((r) => r.origin)).toEqual(
      feedback.rows.map((r) => `feedback:${r.id}`),
    );
    expect(audit).toEqual([
      { dataset: 'data', action: 'feedback-auto-commit', version: '2'.repeat(64), created: true, actor: 'c' },
    ]);
    expect(feedback.rows.every((r) => r.committedVersion === '2'.repeat(64))).toBe(true);
  });

  it('answers a stored sample 202 when another commit took the pending samples first', async () => {
    const { feedback, audit, service } = setup({ FEEDBACK_COMMIT_EVERY: '1' });
    // The count saw one pending; by the commit's lock, a concurrent commit had taken it.
    feedback.countPending = async () => 1;
    feedback.pending = async () => [];
    const receipt = await service.receive(sample('a'));
    expect(receipt).toMatchObject({ pending: 0 });
    expect(receipt.committedVersion).toBeUndefined();
    expect(audit).toEqual([]);
  });

  it('audits a commit on demand with the calling key', async () => {
    const { audit, service } = setup();
    await service.receive(sample('shop'));
    const outcome = await service.commit('data', { actor: 'loader' });
    expect(outcome.feedbackRows).toBe(1);
    expect(audit).toEqual([
      {
        dataset: 'data',
        action: 'feedback-commit',
        version: outcome.version.id,
        created: true,
        actor: 'loader',
      },
    ]);
    await expect(service.commit('data', { actor: 'loader' })).rejects.toThrow(/no pending feedback/);
    expect(audit).toHaveLength(1);
  });
});
