import type { JobStepId } from '@sepal/contracts';
import type { StepObserver, StepSummary } from './step-runner';

/** Tells several observers, in order: the log and the durable job record hear the same steps. */
export class CompositeStepObserver implements StepObserver {
  constructor(private readonly observers: readonly StepObserver[]) {}

  async stepStarted(step: JobStepId): Promise<void> {
    for (const observer of this.observers) await observer.stepStarted(step);
  }

  async stepSucceeded(step: JobStepId, summary: StepSummary): Promise<void> {
    for (const observer of this.observers) await observer.stepSucceeded(step, summary);
  }

  async stepFailed(step: JobStepId, error: unknown): Promise<void> {
    for (const observer of this.observers) await observer.stepFailed(step, error);
  }

  async stepSkipped(step: JobStepId, summary: StepSummary): Promise<void> {
    for (const observer of this.observers) await observer.stepSkipped?.(step, summary);
  }
}
