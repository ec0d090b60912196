import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEnvelope, EventNames, TrainRequested } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import { EventBus } from '@sepal/messaging';
import { DataClient, type DatasetVersionInfo } from '../clients/data-client';
import { RegistryClient } from '../clients/registry-client';
import { TrainerMetrics } from '../observability/trainer-metrics';
import { planJob, type JobPlan } from '../sweep/job-plan';
import { loadTensorFlow } from '../training/tf-backend';
import { TrainerConfig, TrainerConfigValues, trainingLimits } from '../trainer.config';
import { errorMessage, JobFailedError, JobRejectedError } from './job-errors';
import { JobStatusStore } from './job-status.store';
import { firstAttemptRunId } from './run-ids';
import { RunReporter } from './run-reporter';
import { trainSelectAndRegister, type JobContext } from './train-pipeline';

export interface DeliveryFacts {
  redelivered: boolean;
  attempt: number;
}

export const WORKER_LOST = 'worker lost mid-job';
const UNRESOLVED_VERSION = '0'.repeat(64);

/**
 * Runs one train.requested job to a recorded outcome: the parent run (and its children) end finished or failed, with
 * the reason. Resolves when the outcome is published; throws JobFailedError after recording a failure.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger('TrainingJob');

  constructor(
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    private readonly bus: EventBus,
    private readonly data: DataClient,
    private readonly registry: RegistryClient,
    private readonly status: JobStatusStore,
    private readonly metrics: TrainerMetrics,
  ) {}

  async run(
    envelope: EventEnvelope<typeof EventNames.TrainRequested>,
    delivery: DeliveryFacts,
  ): Promise<void> {
    const started = performance.now();
    const job = envelope.payload;
    const jobId = envelope.messageId;
    const track = (change: Parameters<JobStatusStore['update']>[2]) =>
      this.status.update(jobId, { correlationId: envelope.correlationId, dataset: job.dataset }, change);
    const retried = delivery.redelivered || delivery.attempt > 1;
    if (!retried && (await this.isDuplicate(envelope))) {
      this.metrics.runs.inc({ status: 'duplicate' });
      return;
    }
    if (retried) await this.failPreviousAttempts(envelope);
    const parentRunId = retried ? randomUUID() : firstAttemptRunId(jobId);
    track((s) => Object.assign(s, { state: 'running', parentRunId, error: null }));
    this.metrics.jobsInProgress.inc();
    let status: 'finished' | 'failed' | 'rejected' = 'failed';
    try {
      // Everything that can reject the job before a model is trained, collected before the run starts.
      let plan: JobPlan | undefined;
      let version: DatasetVersionInfo | undefined;
      let rejection: unknown;
      try {
        plan = planJob(job.grid, job.params, trainingLimits(this.config));
        version = await this.resolveVersion(job);
      } catch (error) {
        rejection = error;
      }
      const handle = await loadTensorFlow(this.config.TF_BACKEND, (message) => this.logger.log(message));
      const reporter = new RunReporter(this.bus, envelope.correlationId, {
        experiment: job.experiment ?? job.dataset,
        dataset: job.dataset,
        datasetVersion: version?.id ?? job.version ?? UNRESOLVED_VERSION,
        backend: handle.backend,
      });
      const seed = job.seed ?? this.config.TRAIN_SEED;
      await reporter.started({
        runId: parentRunId,
        parentRunId: null,
        runName: `sweep ${job.dataset}${version ? ` v${version.seq}` : ''}`,
        params: {
          grid: JSON.stringify(plan?.grid ?? job.grid ?? null),
          trials: plan?.trials.length ?? 0,
          seed,
          validation_fraction: this.config.VALIDATION_FRACTION,
        },
        tags: this.parentTags(envelope, job, delivery, version === undefined),
      });
      track((s) => Object.assign(s, { backend: handle.backend, datasetVersion: version?.id ?? null }));
      if (rejection !== undefined || plan === undefined || version === undefined) {
        const reason = errorMessage(rejection);
        await reporter.finished(parentRunId, { status: 'failed', error: reason, tags: { rejected: 'true' } });
        status = 'rejected';
        throw new JobFailedError(reason, true);
      }
      const context: JobContext = {
        job,
        jobId,
        parentRunId,
        plan,
        version,
        seed,
        handle,
        reporter,
        config: this.config,
        data: this.data,
        registry: this.registry,
        metrics: this.metrics,
        track,
        log: (message) => this.logger.log(`${jobId}: ${message}`),
      };
      try {
        const summary = await trainSelectAndRegister(context);
        status = 'finished';
        this.logger.log(`${jobId}: ${summary}`);
      } catch (error) {
        const permanent = error instanceof JobRejectedError;
        const reason = describeFailure(error);
        await reporter.finished(parentRunId, {
          status: 'failed',
          error: reason,
          tags: permanent ? { rejected: 'true' } : {},
        });
        status = permanent ? 'rejected' : 'failed';
        throw new JobFailedError(reason, permanent);
      }
    } catch (error) {
      const reason = errorMessage(error);
      track((s) => Object.assign(s, { state: 'failed', error: reason }));
      this.logger.warn(`${jobId}: ${status === 'rejected' ? 'rejected' : 'failed'}: ${reason}`);
      throw error instanceof JobFailedError ? error : new JobFailedError(reason, false);
    } finally {
      this.metrics.jobsInProgress.dec();
      this.metrics.runs.inc({ status });
      this.metrics.duration.observe({ status }, (performance.now() - started) / 1000);
    }
  }

  /** A missing dataset or version is permanent; the data service being unreachable is not. */
  private async resolveVersion(job: TrainRequested): Promise<DatasetVersionInfo> {
    try {
      return await this.data.version(job.dataset, job.version ?? 'latest');
    } catch (error) {
      if (error instanceof ServiceCallError && (error.status === 404 || error.status === 400)) {
        const what = job.version
          ? `version ${job.version} of dataset '${job.dataset}'`
          : `dataset '${job.dataset}'`;
        throw new JobRejectedError(`${what} not found (${error.message})`);
      }
      throw error;
    }
  }

  /**
   * The previous delivery died without acking: its parent run (and children still running) are marked failed. The
   * first attempt's id is derived from the message id, so it is failed even if the registry cannot be searched.
   */
  /**
   * Consumers are idempotent by message id: a train.requested published twice (not a redelivery) is trained once.
   * The first copy's parent run, finished or still running, is the proof; a failed one may be trained again. If the
   * registry cannot be asked, the job runs (at least once), and a copy arriving before the first copy's run is
   * recorded is not recognised.
   */
  private async isDuplicate(envelope: EventEnvelope<typeof EventNames.TrainRequested>): Promise<boolean> {
    try {
      const parent = (
        await this.registry.searchRuns({
          filter: `tags.job_id = '${envelope.messageId.replace(/'/g, "''")}'`,
          limit: 100,
        })
      ).runs.find(
        (run) => run.parentRunId === null && (run.status === 'finished' || run.status === 'running'),
      );
      if (!parent) return false;
      this.logger.warn(
        `${envelope.messageId}: already handled (run ${parent.id} is ${parent.status}); this copy is acknowledged`,
      );
      return true;
    } catch {
      return false;
    }
  }

  private async failPreviousAttempts(
    envelope: EventEnvelope<typeof EventNames.TrainRequested>,
  ): Promise<void> {
    const reporter = new RunReporter(this.bus, envelope.correlationId, {
      experiment: envelope.payload.experiment ?? envelope.payload.dataset,
      dataset: envelope.payload.dataset,
      datasetVersion: UNRESOLVED_VERSION,
      backend: 'unknown',
    });
    const runIds = new Set<string>([firstAttemptRunId(envelope.messageId)]);
    try {
      const parents = await this.registry.searchRuns({
        filter: `tags.job_id = '${envelope.messageId.replace(/'/g, "''")}' AND status = 'running'`,
      });
      for (const parent of parents.runs) {
        runIds.add(parent.id);
        const children = await this.registry.searchRuns({
          parentRunId: parent.id,
          filter: `status = 'running'`,
        });
        children.runs.forEach((child) => runIds.add(child.id));
      }
    } catch (error) {
      this.logger.warn(
        `${envelope.messageId}: could not search the registry for runs left running: ${errorMessage(error)}`,
      );
    }
    for (const runId of runIds) await reporter.finished(runId, { status: 'failed', error: WORKER_LOST });
    this.logger.warn(
      `${envelope.messageId}: redelivered; marked ${runIds.size} run(s) of the lost attempt failed`,
    );
  }

  private parentTags(
    envelope: EventEnvelope<typeof EventNames.TrainRequested>,
    job: TrainRequested,
    delivery: DeliveryFacts,
    unresolved: boolean,
  ): Record<string, string> {
    return {
      job_id: envelope.messageId,
      correlation_id: envelope.correlationId,
      reason: job.reason,
      role: 'sweep',
      ...(job.requestedBy ? { requested_by: job.requestedBy } : {}),
      ...(delivery.redelivered ? { redelivered: 'true' } : {}),
      ...(unresolved ? { dataset_version_resolved: 'false' } : {}),
    };
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof ServiceCallError && error.service === 'registry') {
    return `registry unavailable, gave up: ${error.message}`;
  }
  return errorMessage(error);
}
