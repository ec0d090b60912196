import { Injectable, Logger } from '@nestjs/common';
import {
  BatchRequested,
  ConflictError,
  EventNames,
  InvalidInputError,
  JobListQuery,
  JobListView,
  JobStepChanged,
  JobKind,
  JobView,
  kindOfStep,
  ModelServed,
  NotFoundError,
  TrainRequested,
  UnprocessableError,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import {
  advanceAttempt,
  applyStepReport,
  cancelPendingSteps,
  deriveJob,
  isTerminal,
  JobWithSteps,
  newJob,
  newSteps,
  pendingStep,
  toJobView,
  withReportFacts,
  withRequest,
  withServingReplicas,
} from './job-record';
import { resumePoint } from './job-resume';
import { JobsRepository } from './jobs.repository';

/** Opaque page tokens of GET /jobs: the id of the last job of the previous page (keyset paging). */
const PAGE_TOKEN_PREFIX = 'j:';

export const encodeJobPageToken = (id: string) =>
  Buffer.from(`${PAGE_TOKEN_PREFIX}${id}`, 'utf8').toString('base64url');

/**
 * Durable training jobs: created by train.requested, their steps kept from the trainers' job.step-changed reports
 * (in any order), the `served` step completed by the gateways' model.served; cancelled and retried over REST, each
 * with its event written to the outbox in the same transaction.
 */
@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);

  constructor(
    private readonly repository: JobsRepository,
    private readonly transactions: TransactionRunner,
    private readonly outbox: OutboxRelay,
  ) {}

  /**
   * train.requested: creates the job (queued, every step pending), or fills in a job a step report created first.
   * A request of a later attempt (a retry) moves the job to that attempt; a redelivery changes nothing.
   */
  async onTrainRequested(request: TrainRequested, messageId: string, correlationId: string): Promise<void> {
    const id = request.jobId ?? messageId;
    await this.update(id, request.attempt, correlationId, 'train', (current) => {
      const { job, steps } = advanceAttempt(current, request.attempt);
      if (request.attempt < job.attempt) return { job, steps }; // a late copy of an earlier attempt
      return { job: withRequest(job, { ...request, jobId: id }, correlationId), steps };
    });
  }

  /** job.step-changed: the report with the highest (attempt, sequence) of each step wins, whatever the order. */
  async onStepChanged(report: JobStepChanged, correlationId: string): Promise<void> {
    await this.update(report.jobId, report.attempt, correlationId, kindOfStep(report.step), (current) => {
      if (current.job.kind !== kindOfStep(report.step)) return current; // a step of another kind of job
      const { job, steps } = advanceAttempt(current, report.attempt);
      if (report.attempt < job.attempt) return { job, steps }; // an attempt already retried
      return {
        job: withReportFacts(job, report),
        steps: steps.map((s) => (s.step === report.step ? applyStepReport(s, report) : s)),
      };
    });
  }

  /** model.served: a gateway replica serves a version; the job that produced it has its `served` step done. */
  async onModelServed(served: ModelServed): Promise<void> {
    const jobIds = await this.transactions.run(async (tx) => {
      await this.repository.recordServing(tx, served);
      const ids = await this.repository.jobsOfModelVersion(tx, served.modelName, served.version);
      for (const id of ids) await this.applyLocked(tx, id, (current) => current);
      return ids;
    });
    if (jobIds.length) {
      this.logger.log(
        `${served.modelName} v${served.version} served by ${served.replica} (job ${jobIds.join(', ')})`,
      );
    }
  }

  async getJob(id: string): Promise<JobView> {
    const found = await this.repository.findJob(id);
    if (!found) throw this.notFound(id);
    return toJobView(found);
  }

  /** Jobs newest first, optionally of one state and/or dataset; follow nextPageToken for more. */
  async listJobs(query: JobListQuery): Promise<JobListView> {
    const afterId = await this.decodePageToken(query.pageToken);
    const rows = await this.repository.listJobs({
      state: query.state,
      kind: query.kind,
      dataset: query.dataset,
      afterId,
      limit: query.maxResults + 1,
    });
    const page = rows.slice(0, query.maxResults);
    return {
      jobs: page.map(toJobView),
      nextPageToken: rows.length > query.maxResults ? encodeJobPageToken(page[page.length - 1].job.id) : null,
    };
  }

  /**
   * Asks for a job to stop: `cancelling` until its trainer reports the cancelled step; a job no trainer started yet is
   * cancelled at once. job.cancel-requested goes to the outbox in the same transaction (asking again re-announces it).
   */
  async cancelJob(id: string, by?: string): Promise<JobView> {
    const view = await this.transactions.run(async (tx) => {
      const at = new Date().toISOString();
      const current = await this.lockExisting(tx, id);
      if (isTerminal(current.job.state)) {
        throw new ConflictError(
          `job '${id}' has already ${current.job.state === 'cancelled' ? 'been cancelled' : current.job.state}: there is nothing to cancel`,
          current.job.state === 'succeeded' ? undefined : `POST /jobs/${id}/retry runs it again.`,
        );
      }
      const job = {
        ...current.job,
        cancelRequested: true,
        cancelRequestedBy: by ?? current.job.cancelRequestedBy,
        cancelRequestedAt: current.job.cancelRequestedAt ?? at,
      };
      const steps =
        current.job.state === 'queued' ? cancelPendingSteps(current.steps, job.attempt, at) : current.steps;
      const saved = await this.save(tx, current, { job, steps }, at);
      await this.repository.enqueue(
        tx,
        EventNames.JobCancelRequested,
        { jobId: id, at, ...(by ? { requestedBy: by } : {}) },
        { correlationId: job.correlationId },
      );
      return toJobView(saved);
    });
    this.logger.log(`job ${id}: cancel requested${by ? ` by ${by}` : ''} (${view.state})`);
    this.flushOutbox();
    return view;
  }

  /**
   * Runs a failed or cancelled job again as its next attempt, from its failed step where that is safe (see
   * resumePoint): the steps that did not succeed are pending again and train.requested (the original request, the same
   * jobId, the new attempt, where to resume and why) goes to the outbox in the same transaction.
   */
  async retryJob(id: string, by?: string): Promise<JobView> {
    const view = await this.transactions.run(async (tx) => {
      const current = await this.lockExisting(tx, id);
      const { state } = current.job;
      if (state !== 'failed' && state !== 'cancelled') {
        throw new ConflictError(
          `job '${id}' is ${state}: only a failed or cancelled job can be retried`,
          state === 'succeeded'
            ? 'Request a new training job instead.'
            : `DELETE /jobs/${id} cancels it first.`,
        );
      }
      if (!current.job.request) {
        throw new UnprocessableError(
          `job '${id}' has no recorded train.requested, so there is nothing to run again`,
          'Its request has not reached the registry yet; try again in a moment.',
        );
      }
      const attempt = current.job.attempt + 1;
      if (current.job.kind === 'batch') return this.retryBatch(tx, current, attempt, by);
      const request = current.job.request as TrainRequested;
      const retried: TrainRequested = {
        ...request,
        jobId: id,
        attempt,
        resume: resumePoint(current),
        ...(by ? { requestedBy: by } : {}),
      };
      const next = advanceAttempt(current, attempt);
      const saved = await this.save(
        tx,
        current,
        { job: withRequest(next.job, retried, next.job.correlationId), steps: next.steps },
        new Date().toISOString(),
      );
      await this.repository.enqueue(tx, EventNames.TrainRequested, retried, {
        correlationId: saved.job.correlationId,
      });
      return toJobView(saved);
    });
    const resume = (view.request as TrainRequested).resume;
    const from = view.kind === 'batch' ? 'the start' : `'${resume?.fromStep}': ${resume?.reason}`;
    this.logger.log(`job ${id}: retry as attempt ${view.attempt}${by ? ` by ${by}` : ''} from ${from}`);
    this.flushOutbox();
    return view;
  }

  /**
   * A batch job runs again from the start as its next attempt, with the model version it was pinned to: every step is
   * pending again (an output of an earlier attempt is not the job's output) and batch.requested goes to the outbox.
   */
  private async retryBatch(
    tx: Transaction,
    current: JobWithSteps,
    attempt: number,
    by: string | undefined,
  ): Promise<JobView> {
    const request = current.job.request as BatchRequested;
    const retried: BatchRequested = { ...request, attempt, ...(by ? { requestedBy: by } : {}) };
    const next = advanceAttempt(current, attempt);
    const steps = next.steps.map((s) => pendingStep(s.step, attempt));
    const saved = await this.save(
      tx,
      current,
      { job: { ...next.job, request: retried }, steps },
      new Date().toISOString(),
    );
    await this.repository.enqueue(tx, EventNames.BatchRequested, retried, {
      correlationId: saved.job.correlationId,
    });
    return toJobView(saved);
  }

  /**
   * Applies a change to a job in one transaction, creating it first (queued, steps pending) when unknown, so a report
   * that overtakes the job's train.requested is kept rather than retried.
   */
  private async update(
    id: string,
    attempt: number,
    correlationId: string,
    kind: JobKind,
    change: (current: JobWithSteps) => JobWithSteps,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.repository.insertJob(tx, {
        job: newJob(id, attempt, correlationId, kind),
        steps: newSteps(attempt, kind),
      });
      await this.applyLocked(tx, id, change);
    });
  }

  /** Locks the job, applies the change, brings in the replicas serving its model version, derives its state. */
  private async applyLocked(
    tx: Transaction,
    id: string,
    change: (current: JobWithSteps) => JobWithSteps,
  ): Promise<void> {
    const current = await this.lockExisting(tx, id);
    const { job, steps } = change(current);
    const { modelName, modelVersion, attempt } = job;
    const replicas =
      modelName && modelVersion !== null
        ? await this.repository.servingReplicas(tx, modelName, modelVersion)
        : [];
    const served = steps.map((s) => (s.step === 'served' ? withServingReplicas(s, attempt, replicas) : s));
    await this.save(tx, current, { job, steps: served }, new Date().toISOString());
  }

  /** Derives the job's state from its steps and writes what changed. */
  private async save(
    tx: Transaction,
    before: JobWithSteps,
    after: JobWithSteps,
    now: string,
  ): Promise<JobWithSteps> {
    const job = deriveJob(after.job, after.steps, now);
    const previous = new Map(before.steps.map((s) => [s.step, JSON.stringify(s)]));
    const changed = after.steps.filter((s) => previous.get(s.step) !== JSON.stringify(s));
    if (JSON.stringify(job) !== JSON.stringify(before.job)) await this.repository.saveJob(tx, job);
    await this.repository.saveSteps(tx, job.id, changed);
    if (job.state !== before.job.state) this.logger.log(`job ${job.id}: ${before.job.state} -> ${job.state}`);
    return { job, steps: after.steps };
  }

  private async lockExisting(tx: Transaction, id: string): Promise<JobWithSteps> {
    const found = await this.repository.lockJob(tx, id);
    if (!found) throw this.notFound(id);
    return found;
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(`unknown job '${id}'`, 'GET /jobs lists the jobs, newest first.');
  }

  private async decodePageToken(token: string | undefined): Promise<string | undefined> {
    if (!token) return undefined;
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    const id = decoded.startsWith(PAGE_TOKEN_PREFIX) ? decoded.slice(PAGE_TOKEN_PREFIX.length) : '';
    if (!id || !(await this.repository.jobExists(id))) {
      throw new InvalidInputError(
        `invalid pageToken '${token}'`,
        'Pass back the nextPageToken of the previous page.',
      );
    }
    return id;
  }

  private flushOutbox(): void {
    void this.outbox.flush().catch(() => undefined);
  }
}
