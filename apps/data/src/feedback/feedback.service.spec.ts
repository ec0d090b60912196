import { UnprocessableError } from '@sepal/contracts';
import { inMemoryDataServices, syntheticIris } from '../../test/fakes';

const setosa = { sepal_length: 4.2, sepal_width: 3.0, petal_length: 1.1, petal_width: 0.2 };

describe('FeedbackService', () => {
  let wired: ReturnType<typeof inMemoryDataServices>;
  const start = async (commitEvery: number) => {
    wired = inMemoryDataServices({ FEEDBACK_COMMIT_EVERY: String(commitEvery) });
    return (await wired.datasets.importDataset({ dataset: 'iris', content: syntheticIris(10) })).version;
  };
  const receive = (features: Record<string, number> | number[], label = 'Iris-setosa', messageId?: string) =>
    wired.feedback.receive({ dataset: 'iris', features, label }, messageId);

  it('refuses feedback for a dataset that has no version yet', async () => {
    wired = inMemoryDataServices();
    await expect(receive(setosa)).rejects.toThrow(/has no version yet/);
    expect(wired.feedbackRepository.samples).toEqual([]);
  });

  it('checks a sample against the latest schema and stores nothing it refuses', async () => {
    await start(0);

    await expect(receive(setosa, 'Iris-unknown')).rejects.toThrow(UnprocessableError);
    await expect(receive(setosa, 'Iris-unknown')).rejects.toThrow(/unknown class 'Iris-unknown'/);
    const { petal_width: _, ...missing } = setosa;
    await expect(receive(missing)).rejects.toThrow(/missing feature\(s\): petal_width/);
    await expect(receive([1, 2, 3])).rejects.toThrow(/expected 4 feature values/);
    expect(wired.feedbackRepository.samples).toEqual([]);
  });

  it('stores named features in the schema order, and flags far-out values without refusing them', async () => {
    await start(0);
    const reordered = { petal_width: 0.2, petal_length: 1.1, sepal_width: 3.0, sepal_length: 40 };

    const receipt = await receive(reordered);

    expect(receipt).toMatchObject({ dataset: 'iris', label: 'Iris-setosa', pending: 1 });
    expect(receipt.flags).toEqual([
      expect.stringMatching(/^sepal_length=40 is far outside the training range/),
    ]);
    expect(wired.feedbackRepository.samples[0]).toMatchObject({ features: [40, 3.0, 1.1, 0.2], label: 0 });
  });

  it('stores a redelivered message once (same message id), answering with the first sample', async () => {
    await start(0);

    const first = await receive(setosa, 'Iris-setosa', 'message-1');
    const again = await receive(setosa, 'Iris-setosa', 'message-1');
    const other = await receive(setosa, 'Iris-setosa', 'message-2');

    expect(again.id).toBe(first.id);
    expect(again.pending).toBe(1);
    expect(other.id).not.toBe(first.id);
    expect(wired.feedbackRepository.samples).toHaveLength(2);
  });

  it('commits every N samples into a child of the latest version, marking them committed', async () => {
    const v1 = await start(3);

    const receipts = [
      await receive(setosa),
      await receive([6.1, 2.9, 4.7, 1.4], 'Iris-versicolor'),
      await receive([6.5, 3.0, 5.5, 1.8], 'Iris-virginica'),
    ];

    expect(receipts.map((r) => r.pending)).toEqual([1, 2, 0]);
    expect(receipts[0].committedVersion).toBeUndefined();
    expect(receipts[1].committedVersion).toBeUndefined();
    const v2 = wired.datasetsRepository.versions[1];
    expect(receipts[2].committedVersion).toBe(v2.id);
    expect(v2).toMatchObject({ seq: 2, parentId: v1.id, reason: 'feedback', rowCount: 33 });
    expect(v2.schema).toEqual(v1.schema);
    expect(wired.feedbackRepository.samples.map((s) => s.committedVersion)).toEqual([v2.id, v2.id, v2.id]);
    const v1Splits = wired.datasetsRepository.rows.get(v1.id) ?? [];
    const v2Splits = new Map((wired.datasetsRepository.rows.get(v2.id) ?? []).map((r) => [r.key, r.split]));
    for (const row of v1Splits) expect(v2Splits.get(row.key)).toBe(row.split);
    expect(wired.datasetsRepository.announced.at(-1)?.event).toMatchObject({
      version: v2.id,
      parentVersion: v1.id,
      reason: 'feedback',
      rowCount: 33,
    });
  });

  it('never commits on its own when N is 0', async () => {
    await start(0);
    for (let i = 0; i < 5; i++) expect((await receive(setosa)).committedVersion).toBeUndefined();
    expect(await wired.feedbackRepository.countPending('iris')).toBe(5);
    expect(wired.datasetsRepository.versions).toHaveLength(1);
  });

  it('commits on demand, then refuses a commit with nothing pending and writes nothing', async () => {
    await start(0);
    await receive(setosa);
    await receive([6.1, 2.9, 4.7, 1.4], 'Iris-versicolor');

    const outcome = await wired.feedback.commit('iris', 'corr-7');
    expect(outcome).toMatchObject({ created: true, feedbackRows: 2 });
    expect(wired.datasetsRepository.announced.at(-1)?.correlationId).toBe('corr-7');

    await expect(wired.feedback.commit('iris')).rejects.toThrow(/no pending feedback to commit/);
    expect(wired.datasetsRepository.versions).toHaveLength(2);
    expect(wired.datasetsRepository.announced).toHaveLength(2);
  });

  it('lists pending and committed samples separately', async () => {
    const v1 = await start(2);
    await receive(setosa);
    await receive(setosa);
    await receive([6.5, 3.0, 5.5, 1.8], 'Iris-virginica');

    const pending = await wired.feedback.list('iris', 'pending', 10);
    const committed = await wired.feedback.list('iris', 'committed', 10);
    expect(pending.map((s) => s.className)).toEqual(['Iris-virginica']);
    expect(committed).toHaveLength(2);
    expect(committed.every((s) => s.committedVersion !== null && s.committedVersion !== v1.id)).toBe(true);
    await expect(wired.feedback.list('nope', 'all', 10)).rejects.toThrow(/unknown dataset 'nope'/);
  });
});
