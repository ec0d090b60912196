import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEnvelope, EventNames, JOB_STEP_TITLES } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import { EventBus, RequeueDelivery } from '@sepal/messaging';
import { RegistryClient } from '../clients/registry-client';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import { CompositeStepObserver } from '../pipeline/composite-step-observer';
import { JobStepReporter } from '../pipeline/job-step-reporter';
import { LoggingStepObserver } from '../pipeline/logging-step-observer';
import { RunningJobs } from './running-jobs.service';
import { JobPipeline } from '../pipeline/training-pipeline.service';
import { TrainerConfig, TrainerConfigValues } from '../trainer.config';
import { errorMessage, isTrainerStopping, JobFailedError, JobRejectedError } from './job-errors';
import { JobStatusStore } from './job-status.service';
import { ParentRun, UNRESOLVED_VERSION, type DeliveryFacts } from './parent-run';
import { firstAttemptRunId } from './run-ids';
import { RunReporter } from './run-reporter';

export const WORKER_LOST = 'worker lost mid-job';

type TrainRequestedEnvelope = EventEnvelope<typeof EventNames.TrainRequested>;

/** What the job runner asks of the registry: the runs of earlier copies or attempts of a job. */
export type RunSearch = Pick<RegistryClient, 'searchRuns'>;

/**
 * Runs one train.requested job to a recorded outcome: the parent run (and its children) end finished or failed, with
 * the reason. Resolves when the outcome is published; throws JobFailedError after recording a failure. The work itself
 * is the pipeline's (JobPipeline); this is its frame: duplicates, lost attempts, the run's failure, status, metrics.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger('TrainingJob');

  constructor(
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    private readonly bus: EventBus,
    @Inject(RegistryClient) private readonly registry: RunSearch,
    private readonly status: JobStatusStore,
    private readonly metrics: TrainerMetrics,
    private readonly pipeline: JobPipeline,
    private readonly running: RunningJobs,
  ) {}

  async run(envelope: TrainRequestedEnvelope, delivery: DeliveryFacts): Promise<void> {
    const started = performance.now();
    const job = envelope.payload;
    // A retry (POST /jobs/:id/retry on the registry) is a new message for the same job.
    const jobId = job.jobId ?? envelope.messageId;
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
    let status: 'finished' | 'failed' | 'rejected' | 'cancelled' | 'handed_back' = 'failed';
    const seed = job.seed ?? this.config.TRAIN_SEED;
    const run = new ParentRun(this.bus, envelope, delivery, parentRunId, {
      seed,
      validationFraction: this.config.VALIDATION_FRACTION,
    });
    const logged = new LoggingStepObserver(this.logger, jobId);
    const recorded = new JobStepReporter(this.bus, {
      jobId,
      attempt: job.attempt,
      correlationId: envelope.correlationId,
      worker: this.config.TRAINER_REPLICA_ID,
      parentRunId,
      isCancellation: () => cancel.signal.aborted,
      isHandedBack: () => isTrainerStopping(cancel.signal),
      warn: (message) => this.logger.warn(message),
    });
    const observer = new CompositeStepObserver([logged, recorded]);
    const cancel = this.running.start(jobId);
    try {
      const summary = await this.pipeline.run(
        { job, jobId, parentRunId, seed },
        {
          observer,
          signal: cancel.signal,
          openRun: run,
          track,
          log: (message) => this.logger.log(`${jobId}: ${message}`),
        },
      );
      status = 'finished';
      track((s) => (s.state = 'finished'));
      this.logger.log(`${jobId}: ${summary}`);
    } catch (error) {
      if (isTrainerStopping(cancel.signal)) {
        // Not a failure of the job: its message goes back to the queue unacked and another replica runs it (which
        // marks this attempt's runs failed as "worker lost mid-job", as after a crash).
        status = 'handed_back';
        this.logger.warn(`${jobId}: the trainer is stopping; the job goes back to the queue`);
        throw new RequeueDelivery(`job ${jobId}: the trainer ${this.config.TRAINER_REPLICA_ID} is stopping`);
      }
      const failure = await recordFailure(run, error);
      status = cancel.signal.aborted ? 'cancelled' : failure.permanent ? 'rejected' : 'failed';
      track((s) => Object.assign(s, { state: 'failed', error: failure.message }));
      const step = logged.failedStep;
      this.logger.warn(
        `${jobId}: ${status}${step ? ` at step '${JOB_STEP_TITLES[step]}'` : ''}: ${failure.message}`,
      );
      // Asked for: the job is done (its record says cancelled), so the message is acked, not dead-lettered.
      if (status === 'cancelled') return;
      throw failure;
    } finally {
      this.running.end(jobId);
      this.metrics.jobsInProgress.dec();
      this.metrics.runs.inc({ status });
      this.metrics.duration.observe({ status }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Consumers are idempotent by message id: a train.requested published twice (not a redelivery) is trained once.
   * The first copy's parent run, finished or still running, is the proof; a failed one may be trained again. If the
   * registry cannot be asked, the job runs (at least once), and a copy arriving before the first copy's run is
   * recorded is not recognised.
   */
  private async isDuplicate(envelope: TrainRequestedEnvelope): Promise<boolean> {
    try {
      const parent = (
        await this.registry.searchRuns({
          filter: `tags.job_id = '${quoted(envelope.messageId)}'`,
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

  /**
   * The previous delivery died without acking: its parent run (and children still running) are marked failed. The
   * first attempt's id is derived from the message id, so it is failed even if the registry cannot be searched.
   */
  private async failPreviousAttempts(envelope: TrainRequestedEnvelope): Promise<void> {
    const reporter = new RunReporter(this.bus, envelope.correlationId, {
      experiment: envelope.payload.experiment ?? envelope.payload.dataset,
      dataset: envelope.payload.dataset,
      datasetVersion: UNRESOLVED_VERSION,
      backend: 'unknown',
    });
    const runIds = new Set<string>([firstAttemptRunId(envelope.messageId)]);
    try {
      const parents = await this.registry.searchRuns({
        filter: `tags.job_id = '${quoted(envelope.messageId)}' AND status = 'running'`,
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
}

/** A string inside a quoted literal of the registry's search language. */
function quoted(value: string): string {
  return value.replace(/'/g, "''");
}

/**
 * Records a failed job on its parent run: permanent (the run tagged rejected) when the job can never succeed as asked.
 * If even that cannot be recorded, the job failed for that reason.
 */
async function recordFailure(run: ParentRun, error: unknown): Promise<JobFailedError> {
  const permanent = error instanceof JobRejectedError;
  const reason = describeFailure(error);
  try {
    await run.fail(reason, permanent);
    return new JobFailedError(reason, permanent);
  } catch (unrecorded) {
    return new JobFailedError(errorMessage(unrecorded), false);
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof ServiceCallError && error.service === 'registry') {
    return `registry unavailable, gave up: ${error.message}`;
  }
  return errorMessage(error);
}
