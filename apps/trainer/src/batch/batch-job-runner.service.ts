import { Inject, Injectable, Logger } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BATCH_JOB_STEPS,
  ENDED_JOB_STEP_STATES,
  EventEnvelope,
  EventNames,
  TERMINAL_JOB_STATES,
} from '@sepal/contracts';
import { EventBus, RequeueDelivery } from '@sepal/messaging';
import { DataClient } from '../clients/data-client';
import { RegistryClient } from '../clients/registry-client';
import { errorMessage, isTrainerStopping, JobFailedError, JobRejectedError } from '../jobs/job-errors';
import { RunningJobs } from '../jobs/running-jobs.service';
import { JobStepReporter } from '../pipeline/job-step-reporter';
import { StepRunner } from '../pipeline/step-runner';
import { TrainerConfig, TrainerConfigValues } from '../trainer.config';
import { BatchRegistryClient } from './batch-registry-client';
import { BatchContext, resolveInputStep, scoreStep, storeOutputStep } from './batch-steps';

type BatchEnvelope = EventEnvelope<typeof EventNames.BatchRequested>;

/** How often a running score step reports its progress at most. */
const PROGRESS_EVERY_MS = 1000;

/**
 * Runs one batch.requested to a recorded outcome on the job system: its steps reported as job.step-changed, cancelled
 * through RunningJobs (job.cancel-requested), handed back to the queue when the trainer stops. A delivery of an
 * attempt the registry no longer runs (retried, ended) is acknowledged without work. Whatever happens, the job's
 * temporary files are deleted; the output exists for clients only once store-output registered it whole.
 */
@Injectable()
export class BatchJobRunner {
  private readonly logger = new Logger('BatchJob');

  constructor(
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    private readonly bus: EventBus,
    private readonly data: DataClient,
    private readonly registry: RegistryClient,
    private readonly batch: BatchRegistryClient,
    private readonly running: RunningJobs,
  ) {}

  async run(envelope: BatchEnvelope): Promise<void> {
    const request = envelope.payload;
    const { jobId, attempt } = request;
    const cancel = this.running.start(jobId);
    const reporter = new JobStepReporter(this.bus, {
      jobId,
      attempt,
      correlationId: envelope.correlationId,
      worker: this.config.TRAINER_REPLICA_ID,
      isCancellation: () => cancel.signal.aborted,
      isHandedBack: () => isTrainerStopping(cancel.signal),
      warn: (message) => this.logger.warn(message),
    });
    const dir = await mkdtemp(join(this.config.TRAINER_BATCH_DIR ?? tmpdir(), `sepal-batch-`));
    try {
      if (!(await this.stillWanted(envelope, reporter, cancel))) return;
      let reported = 0;
      const ctx: BatchContext = {
        request,
        dir,
        signal: cancel.signal,
        onProgress: (rows, total) => {
          if (Date.now() - reported < PROGRESS_EVERY_MS) return;
          reported = Date.now();
          void reporter.stepProgress('score', { rowsScored: rows, rowsTotal: total });
        },
      };
      const deps = { config: this.config, data: this.data, registry: this.registry, batch: this.batch };
      const steps = new StepRunner(reporter, BATCH_JOB_STEPS, cancel.signal);
      const resolved = await steps.run(resolveInputStep(ctx, deps), undefined);
      const scored = await steps.run(scoreStep(ctx, deps), resolved);
      await steps.run(storeOutputStep(ctx, deps), scored);
      this.logger.log(
        `${jobId}: scored ${scored.rows} rows (${scored.errorRows} not matching the signature) with ` +
          `${request.model.name} v${request.model.version}`,
      );
    } catch (error) {
      if (isTrainerStopping(cancel.signal)) {
        this.logger.warn(`${jobId}: the trainer is stopping; the batch job goes back to the queue`);
        throw new RequeueDelivery(
          `batch job ${jobId}: the trainer ${this.config.TRAINER_REPLICA_ID} is stopping`,
        );
      }
      if (cancel.signal.aborted) {
        this.logger.log(`${jobId}: cancelled; its partial output is deleted`);
        return;
      }
      this.logger.warn(`${jobId}: failed: ${errorMessage(error)}`);
      throw new JobFailedError(errorMessage(error), error instanceof JobRejectedError);
    } finally {
      this.running.end(jobId);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The job's record decides whether this delivery still has work: not when it has ended or moved to another attempt
   * (a redelivery after a retry); a cancel asked while no trainer ran it (a restart) ends its open step cancelled.
   * If the registry cannot be asked, the job runs (at least once).
   */
  private async stillWanted(
    envelope: BatchEnvelope,
    reporter: JobStepReporter,
    cancel: AbortController,
  ): Promise<boolean> {
    const { jobId, attempt } = envelope.payload;
    let view;
    try {
      view = await this.batch.job(jobId);
    } catch (error) {
      this.logger.warn(`${jobId}: could not read the job's record, scoring anyway: ${errorMessage(error)}`);
      return true;
    }
    if (view.attempt !== attempt || TERMINAL_JOB_STATES.includes(view.state)) {
      this.logger.log(
        `${jobId}: attempt ${attempt} is not running (${view.state}, attempt ${view.attempt}): acknowledged`,
      );
      return false;
    }
    if (view.cancelRequested) {
      const open = view.steps.find((s) => !ENDED_JOB_STEP_STATES.includes(s.state));
      cancel.abort(new Error('the job was cancelled before it ran'));
      if (open) await reporter.stepFailed(open.step, cancel.signal.reason);
      return false;
    }
    return true;
  }
}
