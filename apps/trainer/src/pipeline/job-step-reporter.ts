import { EventNames, type JobStepId, type JobStepState } from '@sepal/contracts';
import type { EventBus } from '@sepal/messaging';
import { errorMessage } from '../jobs/job-errors';
import type { StepObserver, StepSummary } from './step-runner';

export interface JobStepReporterOptions {
  jobId: string;
  attempt: number;
  correlationId: string;
  /** This trainer replica, recorded as the step's worker. */
  worker: string;
  /** The parent run of a training job's sweep (a batch job has none). */
  parentRunId?: string;
  /** True when the error means the job was cancelled (its steps end `cancelled`, not `failed`). */
  isCancellation: (error: unknown) => boolean;
  /** True when the job goes back to the queue (the trainer is stopping): the step's end is the next replica's to report. */
  isHandedBack?: (error: unknown) => boolean;
  warn: (message: string) => void;
}

/**
 * Records a job's steps in the registry by publishing `job.step-changed` for each start and end. The sequence is
 * time-based (microseconds since 1970), so it keeps rising when another replica takes the job over after a crash and
 * the registry's "highest (attempt, sequence) wins" rule holds. A report that cannot be published is logged, not
 * thrown: the job's outcome (its runs and model version) matters more than its record.
 */
export class JobStepReporter implements StepObserver {
  private counter = 0;

  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly options: JobStepReporterOptions,
  ) {}

  stepStarted(step: JobStepId): Promise<void> {
    return this.report(step, 'running', {});
  }

  stepSucceeded(step: JobStepId, summary: StepSummary): Promise<void> {
    return this.report(step, 'succeeded', summary);
  }

  /** A running step's progress so far (e.g. rows scored): a later `running` report with figures. */
  stepProgress(step: JobStepId, summary: StepSummary): Promise<void> {
    return this.report(step, 'running', summary);
  }

  async stepFailed(step: JobStepId, error: unknown): Promise<void> {
    if (this.options.isHandedBack?.(error)) return;
    const state = this.options.isCancellation(error) ? 'cancelled' : 'failed';
    return this.report(step, state, {}, errorMessage(error));
  }

  /** A step the pipeline did not run (a resumed attempt reuses its result; the summary says which). */
  stepSkipped(step: JobStepId, summary: StepSummary): Promise<void> {
    return this.report(step, 'skipped', summary);
  }

  private async report(
    step: JobStepId,
    state: JobStepState,
    summary: StepSummary,
    error?: string,
  ): Promise<void> {
    const { jobId, attempt, correlationId, worker, parentRunId } = this.options;
    const sequence = Date.now() * 1000 + (this.counter++ % 1000);
    try {
      await this.bus.publish(
        EventNames.JobStepChanged,
        {
          jobId,
          step,
          state,
          attempt,
          sequence,
          at: new Date().toISOString(),
          worker,
          ...(parentRunId ? { parentRunId } : {}),
          summary,
          ...(error !== undefined ? { error: error.slice(0, 4000) } : {}),
        },
        { correlationId },
      );
    } catch (publishError) {
      this.options.warn(
        `${jobId}: could not record step '${step}' as ${state}: ${errorMessage(publishError)}`,
      );
    }
  }
}
