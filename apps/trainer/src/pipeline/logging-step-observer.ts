import { JOB_STEP_TITLES, type JobStepId } from '@sepal/contracts';
import { errorMessage } from '../jobs/job-errors';
import type { StepObserver, StepSummary } from './step-runner';

export interface StepLogger {
  log(message: string): void;
  debug(message: string): void;
}

/**
 * Today's observer of a job's steps: a line per step that succeeds (with its summary), and the step that failed, for
 * the job's own failure message.
 */
export class LoggingStepObserver implements StepObserver {
  private failed: JobStepId | undefined;

  constructor(
    private readonly logger: StepLogger,
    private readonly jobId: string,
  ) {}

  /** The step that failed, if one did. */
  get failedStep(): JobStepId | undefined {
    return this.failed;
  }

  stepStarted(step: JobStepId): void {
    this.logger.debug(`${this.jobId}: ${JOB_STEP_TITLES[step]}...`);
  }

  stepSucceeded(step: JobStepId, summary: StepSummary): void {
    this.logger.log(`${this.jobId}: ${JOB_STEP_TITLES[step]}: ${formatSummary(summary)}`);
  }

  stepSkipped(step: JobStepId, summary: StepSummary): void {
    this.logger.log(`${this.jobId}: ${JOB_STEP_TITLES[step]} skipped: ${formatSummary(summary)}`);
  }

  stepFailed(step: JobStepId, error: unknown): void {
    this.failed = step;
    this.logger.debug(`${this.jobId}: ${JOB_STEP_TITLES[step]} failed: ${errorMessage(error)}`);
  }
}

/** `trials=9, best_val_accuracy=0.9583`: a step's figures on one log line. */
export function formatSummary(summary: StepSummary): string {
  return Object.entries(summary)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}
