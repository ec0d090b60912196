import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BatchInput,
  BatchJobListQuery,
  BatchJobListView,
  BatchJobView,
  BatchOutputQuery,
  BatchOutputView,
  BatchRequested,
  BatchUploadQuery,
  ConflictError,
  CreateBatchJobRequest,
  EventNames,
  InvalidInputError,
  JobView,
  ModelVersionView,
  NotFoundError,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { TransactionRunner } from '@sepal/persistence';
import { ArtifactStore } from '../artifacts/artifact-store.repository';
import { ModelsService } from '../models/models.service';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import { isTerminal, JobWithSteps, newJob, newSteps, toJobView } from '../jobs/job-record';
import { JobsService } from '../jobs/jobs.service';
import { JobsRepository } from '../jobs/jobs.repository';
import { BatchFilesRepository, BatchOutputRecord } from './batch-files.repository';
import { BatchLimitError, countingRows } from './batch-limits';

/** What a batch job scores with, as the models service answers it. */
export type BatchModels = Pick<ModelsService, 'getAlias' | 'getVersion'>;

const SHA256 = /^[0-9a-f]{64}$/;
const outputUrl = (jobId: string) => `/batch-jobs/${encodeURIComponent(jobId)}/output.csv`;

/**
 * Batch scoring jobs: created here with their model version pinned (an alias resolved now) and batch.requested in the
 * outbox in the same transaction; scored by a trainer replica, whose step reports, cancellation and retry are the job
 * system's (JobsService). Their CSVs (uploads and outputs) live in the content-addressed store, apart from the model
 * artifacts; an output is registered only once the whole file is stored, for the job's current attempt, and served
 * only once the job has succeeded.
 */
@Injectable()
export class BatchJobsService {
  private readonly logger = new Logger('BatchJobs');

  constructor(
    private readonly files: BatchFilesRepository,
    private readonly jobsRepository: JobsRepository,
    private readonly jobs: JobsService,
    private readonly transactions: TransactionRunner,
    private readonly outbox: OutboxRelay,
    private readonly store: ArtifactStore,
    @Inject(ModelsService) private readonly models: BatchModels,
    @Inject(RegistryConfig) private readonly config: RegistryConfigValues,
  ) {}

  /** Scores a dataset version (or one of its splits); the trainer resolves the version ref. */
  async createFromDataset(request: CreateBatchJobRequest, actor: string): Promise<BatchJobView> {
    const model = await this.resolveModel(request);
    const input: BatchInput = {
      type: 'dataset',
      dataset: request.dataset,
      version: request.datasetVersion,
      split: request.split,
    };
    return this.create(input, model, actor);
  }

  /**
   * Scores an uploaded CSV (a header naming the model's features, one row per line): streamed to the store while
   * counted, at most REGISTRY_BATCH_MAX_UPLOAD_BYTES and REGISTRY_BATCH_MAX_ROWS rows (413 naming the limit).
   */
  async createFromUpload(body: unknown, query: BatchUploadQuery, actor: string): Promise<BatchJobView> {
    if (!(body instanceof Readable)) {
      throw new InvalidInputError(
        'a batch job needs a JSON body naming a dataset, or a CSV body sent as Content-Type: text/csv',
        'e.g. sepal score --model iris --dataset iris, or sepal score --model iris --file rows.csv',
      );
    }
    const model = await this.resolveModel(query);
    const maxRows = this.config.REGISTRY_BATCH_MAX_ROWS;
    const counting = countingRows(body, maxRows);
    const received = await this.store.receive(counting.stream, null, undefined, {
      what: 'the CSV',
      bytes: this.config.REGISTRY_BATCH_MAX_UPLOAD_BYTES,
      setting: 'REGISTRY_BATCH_MAX_UPLOAD_BYTES',
    });
    const rows = counting.counted();
    if (rows > maxRows) {
      throw new BatchLimitError(`the CSV has ${rows} rows, more than ${maxRows} (REGISTRY_BATCH_MAX_ROWS)`);
    }
    if (!received.path || rows === 0) {
      throw new InvalidInputError(
        'the CSV has no data rows: send a header line naming the features, then one row per line',
      );
    }
    const file = { sha256: received.sha256, size: received.size, path: received.path };
    await this.files.recordFile(undefined, file, actor);
    return this.create({ type: 'upload', sha256: file.sha256, size: file.size, rows }, model, actor);
  }

  async list(query: BatchJobListQuery): Promise<BatchJobListView> {
    const page = await this.jobs.listJobs({
      kind: 'batch',
      maxResults: query.maxResults,
      pageToken: query.pageToken,
    });
    const outputs = await this.files.outputs(page.jobs);
    return {
      jobs: page.jobs.map((job) => this.withOutput(job, outputs.get(job.id))),
      nextPageToken: page.nextPageToken,
    };
  }

  async get(id: string): Promise<BatchJobView> {
    const job = await this.batchJob(id);
    const outputs = await this.files.outputs([job]);
    return this.withOutput(job, outputs.get(job.id));
  }

  cancel(id: string, by: string): Promise<JobView> {
    return this.batchJob(id).then(() => this.jobs.cancelJob(id, by));
  }

  retry(id: string, by: string): Promise<JobView> {
    return this.batchJob(id).then(() => this.jobs.retryJob(id, by));
  }

  /** The uploaded CSV a job scores (for the trainer). */
  async openInput(id: string): Promise<{ stream: Readable; size: number }> {
    const job = await this.batchJob(id);
    const input = (job.request as BatchRequested).input;
    if (input.type !== 'upload') {
      throw new NotFoundError(
        `batch job '${id}' scores dataset ${input.dataset}, not an upload`,
        `GET /datasets/${input.dataset}/versions/${input.version}/export.csv on the data service has its rows.`,
      );
    }
    const file = await this.files.findFile(input.sha256);
    if (!file || !(await this.store.has(file.sha256))) {
      throw new NotFoundError(`the CSV uploaded for batch job '${id}' is no longer stored`);
    }
    return { stream: this.store.open(file.path), size: file.size };
  }

  /**
   * A trainer stores the whole output of the job's current attempt (X-Content-SHA256 checked): registered only if the
   * job is still running that attempt and no cancel was asked (409 otherwise, nothing registered).
   */
  async storeOutput(
    id: string,
    query: BatchOutputQuery,
    statedSha256: string | undefined,
    body: unknown,
    by: string,
  ): Promise<BatchOutputView> {
    const stated = statedSha256?.trim().toLowerCase();
    if (!stated || !SHA256.test(stated)) {
      throw new InvalidInputError('the X-Content-SHA256 header must carry the hex SHA-256 of the output CSV');
    }
    if (!(body instanceof Readable)) {
      throw new InvalidInputError('the output must be sent as the body with Content-Type: text/csv');
    }
    this.checkStorable(await this.batchRecord(id), query.attempt);
    const received = await this.store.receive(body as AsyncIterable<Buffer>, stated, undefined, {
      what: 'the output CSV',
      bytes: this.config.REGISTRY_BATCH_MAX_OUTPUT_BYTES,
      setting: 'REGISTRY_BATCH_MAX_OUTPUT_BYTES',
    });
    if (!received.path) {
      throw new InvalidInputError(
        `SHA-256 mismatch: the header says ${stated}, the body hashes to ${received.sha256}; nothing was stored`,
      );
    }
    const file = { sha256: received.sha256, size: received.size, path: received.path };
    await this.transactions.run(async (tx) => {
      const current = await this.jobsRepository.lockJob(tx, id);
      if (!current) throw this.notFound(id);
      this.checkStorable(current, query.attempt);
      await this.files.recordFile(tx, file, by);
      await this.files.recordOutput(tx, {
        jobId: id,
        attempt: query.attempt,
        sha256: file.sha256,
        size: file.size,
        rows: query.rows,
        errorRows: query.errorRows,
      });
    });
    this.logger.log(
      `job ${id}: output of attempt ${query.attempt} stored (${query.rows} rows, ${file.size} bytes)`,
    );
    return {
      attempt: query.attempt,
      sha256: file.sha256,
      size: file.size,
      rows: query.rows,
      errorRows: query.errorRows,
      url: outputUrl(id),
      createdAt: new Date().toISOString(),
    };
  }

  /** The output CSV of a succeeded job; 409 while it runs, and for a failed or cancelled one (none is complete). */
  async openOutput(id: string): Promise<{ stream: Readable; size: number; fileName: string }> {
    const job = await this.get(id);
    if (job.state !== 'succeeded' || !job.output) {
      throw new ConflictError(
        `batch job '${id}' is ${job.state}: it has no complete output`,
        job.state === 'failed' || job.state === 'cancelled'
          ? `POST /batch-jobs/${id}/retry runs it again.`
          : `GET /batch-jobs/${id} shows its progress; the output is here once it has succeeded.`,
      );
    }
    const file = await this.files.findFile(job.output.sha256);
    if (!file || !(await this.store.has(file.sha256))) {
      throw new NotFoundError(`the output of batch job '${id}' is no longer stored`);
    }
    const safe = (job.modelName ?? 'model').replace(/[^A-Za-z0-9._-]/g, '_');
    return { stream: this.store.open(file.path), size: file.size, fileName: `${safe}-batch-${id}.csv` };
  }

  private async create(
    input: BatchInput,
    model: BatchRequested['model'],
    actor: string,
  ): Promise<BatchJobView> {
    const id = randomUUID();
    const correlationId = randomUUID();
    const request: BatchRequested = { jobId: id, attempt: 1, input, model, requestedBy: actor };
    const job = {
      ...newJob(id, 1, correlationId, 'batch'),
      dataset: input.type === 'dataset' ? input.dataset : null,
      reason: 'manual',
      requestedBy: actor,
      modelName: model.name,
      modelVersion: model.version,
      request,
    };
    const record: JobWithSteps = { job, steps: newSteps(1, 'batch') };
    await this.transactions.run(async (tx) => {
      await this.jobsRepository.insertJob(tx, record);
      await this.jobsRepository.enqueue(tx, EventNames.BatchRequested, request, { correlationId });
    });
    void this.outbox.flush().catch(() => undefined);
    const what =
      input.type === 'dataset'
        ? `${input.dataset} ${input.version} (${input.split})`
        : `an upload of ${input.rows} rows`;
    this.logger.log(`job ${id}: score ${what} with ${model.name} v${model.version} (by ${actor})`);
    return this.withOutput(toJobView(record), undefined);
  }

  private async resolveModel(ref: {
    model: string;
    alias?: string;
    version?: number;
  }): Promise<BatchRequested['model']> {
    let found: ModelVersionView;
    if (ref.version !== undefined) found = await this.models.getVersion(ref.model, ref.version);
    else found = await this.models.getAlias(ref.model, ref.alias ?? 'champion');
    return {
      name: ref.model,
      version: found.version,
      sha256: found.sha256,
      ...(ref.version === undefined ? { alias: ref.alias ?? 'champion' } : {}),
    };
  }

  private checkStorable(current: JobWithSteps, attempt: number): void {
    const { job } = current;
    if (attempt !== job.attempt || job.cancelRequested || isTerminal(job.state)) {
      const why = job.cancelRequested
        ? 'a cancel was asked'
        : attempt !== job.attempt
          ? `it runs attempt ${job.attempt}, not ${attempt}`
          : `it has ${job.state}`;
      throw new ConflictError(`batch job '${job.id}' takes no output: ${why}; nothing was registered`);
    }
  }

  private async batchRecord(id: string): Promise<JobWithSteps> {
    const found = await this.jobsRepository.findJob(id);
    if (!found || found.job.kind !== 'batch') throw this.notFound(id);
    return found;
  }

  private async batchJob(id: string): Promise<JobView> {
    return toJobView(await this.batchRecord(id));
  }

  private withOutput(job: JobView, output: BatchOutputRecord | undefined): BatchJobView {
    return {
      ...job,
      output: output
        ? {
            attempt: output.attempt,
            sha256: output.sha256,
            size: output.size,
            rows: output.rows,
            errorRows: output.errorRows,
            url: outputUrl(job.id),
            createdAt: output.createdAt,
          }
        : null,
    };
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(`unknown batch job '${id}'`, 'GET /batch-jobs lists them, newest first.');
  }
}
