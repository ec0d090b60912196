/** BatchJobsService on fakes: jobs pinned to a model version, uploads under limits, outputs only when complete. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import {
  ConflictError,
  EventNames,
  InvalidInputError,
  JobStepChanged,
  ModelVersionView,
  NotFoundError,
} from '@sepal/contracts';
import { FakeJobsRepository, outboxRelay, transactions } from '../../test/fakes/jobs-fakes';
import { ArtifactStore } from '../artifacts/artifact-store.repository';
import { JobsRepository } from '../jobs/jobs.repository';
import { JobsService } from '../jobs/jobs.service';
import { RegistryConfigValues } from '../registry.config';
import { BatchFile, BatchFilesRepository, BatchOutputRecord } from './batch-files.repository';
import { BatchLimitError } from './batch-limits';
import { BatchJobsService, BatchModels } from './batch-jobs.service';

class FakeBatchFiles {
  readonly files = new Map<string, BatchFile>();
  readonly outputs = new Map<string, BatchOutputRecord>();
  async recordFile(_tx: unknown, file: BatchFile) {
    this.files.set(file.sha256, file);
  }
  async findFile(sha256: string) {
    return this.files.get(sha256) ?? null;
  }
  async recordOutput(_tx: unknown, output: Omit<BatchOutputRecord, 'path' | 'createdAt'>) {
    const path = this.files.get(output.sha256)!.path;
    this.outputs.set(`${output.jobId}@${output.attempt}`, {
      ...output,
      path,
      createdAt: new Date().toISOString(),
    });
  }
  async outputs_(jobs: { id: string; attempt: number }[]) {
    return new Map(
      jobs.flatMap((j) => {
        const found = this.outputs.get(`${j.id}@${j.attempt}`);
        return found ? [[j.id, found] as const] : [];
      }),
    );
  }
}

const version = (n: number): ModelVersionView =>
  ({ name: 'iris', version: n, sha256: String(n).repeat(64) }) as ModelVersionView;
const models: BatchModels = {
  getAlias: async (name, alias) => {
    if (name !== 'iris') throw new NotFoundError(`unknown model '${name}'`);
    return { alias, ...version(alias === 'champion' ? 2 : 1) };
  },
  getVersion: async (_name, n) => version(n),
};

describe('BatchJobsService', () => {
  let dir: string;
  let jobsRepository: FakeJobsRepository;
  let files: FakeBatchFiles;
  let jobs: JobsService;
  let service: BatchJobsService;
  let sequence = 0;
  const csv = (text: string) => Readable.from([Buffer.from(text)]);
  const report = (jobId: string, step: JobStepChanged['step'], state: JobStepChanged['state'], attempt = 1) =>
    jobs.onStepChanged(
      { jobId, step, state, attempt, sequence: ++sequence, at: new Date().toISOString(), summary: {} },
      'c',
    );
  const outputOf = async (id: string, attempt: number, text = 'a,prediction\n1,x\n') => {
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(text).digest('hex');
    return service.storeOutput(id, { attempt, rows: 1, errorRows: 0 }, sha, csv(text), 'trainer');
  };

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    dir = await mkdtemp(join(tmpdir(), 'sepal-batch-spec-'));
    const config = {
      MODELS_DIR: dir,
      REGISTRY_MAX_ARTIFACT_BYTES: 1000,
      REGISTRY_MAX_CONCURRENT_UPLOADS: 2,
      REGISTRY_BATCH_MAX_UPLOAD_BYTES: 10_000,
      REGISTRY_BATCH_MAX_ROWS: 3,
      REGISTRY_BATCH_MAX_OUTPUT_BYTES: 10_000,
    } as RegistryConfigValues;
    jobsRepository = new FakeJobsRepository();
    files = new FakeBatchFiles();
    jobs = new JobsService(jobsRepository as unknown as JobsRepository, transactions, outboxRelay);
    const filesPort = {
      recordFile: files.recordFile.bind(files),
      findFile: files.findFile.bind(files),
      recordOutput: files.recordOutput.bind(files),
      outputs: files.outputs_.bind(files),
    } as unknown as BatchFilesRepository;
    service = new BatchJobsService(
      filesPort,
      jobsRepository as unknown as JobsRepository,
      jobs,
      transactions,
      outboxRelay,
      new ArtifactStore(config),
      models,
      config,
    );
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a queued batch job pinned to the version the alias names now, with batch.requested in the outbox', async () => {
    const job = await service.createFromDataset(
      { model: 'iris', dataset: 'iris', datasetVersion: 'v1', split: 'test' },
      'alice',
    );
    expect(job).toMatchObject({
      kind: 'batch',
      state: 'queued',
      modelName: 'iris',
      modelVersion: 2,
      output: null,
    });
    expect(job.steps.map((s) => [s.step, s.state])).toEqual([
      ['resolve-input', 'pending'],
      ['score', 'pending'],
      ['store-output', 'pending'],
    ]);
    expect(jobsRepository.outbox).toEqual([
      expect.objectContaining({
        type: EventNames.BatchRequested,
        payload: expect.objectContaining({
          jobId: job.id,
          attempt: 1,
          input: { type: 'dataset', dataset: 'iris', version: 'v1', split: 'test' },
          model: { name: 'iris', version: 2, sha256: '2'.repeat(64), alias: 'champion' },
        }),
      }),
    ]);
    expect((await service.list({ maxResults: 10 })).jobs.map((j) => j.id)).toEqual([job.id]);
  });

  it('stores an upload with its row count, and refuses one over the row limit (413 naming it) or without a body', async () => {
    const job = await service.createFromUpload(csv('a,b\n1,2\n3,4'), { model: 'iris', version: 1 }, 'alice');
    expect(job.request).toMatchObject({ input: { type: 'upload', rows: 2 }, model: { version: 1 } });
    const input = await service.openInput(job.id);
    expect(input.size).toBe(11);
    const refused = service.createFromUpload(csv('a\n1\n2\n3\n4\n'), { model: 'iris' }, 'alice');
    await expect(refused).rejects.toThrow(BatchLimitError);
    await expect(refused).rejects.toThrow(/REGISTRY_BATCH_MAX_ROWS/);
    await expect(service.createFromUpload({}, { model: 'iris' }, 'alice')).rejects.toThrow(InvalidInputError);
    await expect(service.createFromUpload(csv('a\n1\n'), { model: 'nope' }, 'alice')).rejects.toThrow(
      NotFoundError,
    );
  });

  it('serves the output once store-output succeeded, not before', async () => {
    const { id } = await service.createFromDataset(
      { model: 'iris', dataset: 'iris', datasetVersion: 'latest', split: 'all' },
      'a',
    );
    await report(id, 'resolve-input', 'succeeded');
    await report(id, 'score', 'succeeded');
    await report(id, 'store-output', 'running');
    await expect(service.openOutput(id)).rejects.toThrow(ConflictError);
    await outputOf(id, 1);
    await expect(service.openOutput(id)).rejects.toThrow(/running: it has no complete output/);
    await report(id, 'store-output', 'succeeded');
    const job = await service.get(id);
    expect(job).toMatchObject({ state: 'succeeded', output: { attempt: 1, rows: 1, errorRows: 0 } });
    const { stream } = await service.openOutput(id);
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    expect(text).toBe('a,prediction\n1,x\n');
  });

  it('registers no output for a job being cancelled, and a retry scores again from the start with the same version', async () => {
    const { id } = await service.createFromDataset(
      { model: 'iris', dataset: 'iris', datasetVersion: 'latest', split: 'all' },
      'a',
    );
    await report(id, 'resolve-input', 'succeeded');
    await report(id, 'score', 'running');
    expect((await service.cancel(id, 'bob')).state).toBe('cancelling');
    await expect(outputOf(id, 1)).rejects.toThrow(/a cancel was asked; nothing was registered/);
    await report(id, 'score', 'cancelled');
    expect(await service.get(id)).toMatchObject({ state: 'cancelled', output: null });
    await expect(service.openOutput(id)).rejects.toThrow(/cancelled: it has no complete output/);

    const retried = await service.retry(id, 'bob');
    expect(retried).toMatchObject({ state: 'queued', attempt: 2 });
    expect(retried.steps.every((s) => s.state === 'pending' && s.attempt === 2)).toBe(true);
    expect(jobsRepository.outbox.at(-1)).toMatchObject({
      type: EventNames.BatchRequested,
      payload: { jobId: id, attempt: 2, model: { version: 2 } },
    });
    await expect(outputOf(id, 1)).rejects.toThrow(/runs attempt 2, not 1/);
  });

  it('refuses the job routes for a training job', async () => {
    await jobs.onTrainRequested({ dataset: 'iris', reason: 'manual', attempt: 1 }, 'train-1', 'c');
    await expect(service.get('train-1')).rejects.toThrow("unknown batch job 'train-1'");
    await expect(service.cancel('train-1', 'bob')).rejects.toThrow(NotFoundError);
  });
});
