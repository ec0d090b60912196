import type { JobStepId } from '@sepal/contracts';
import type { StepObserver, StepSummary } from '../../src/pipeline/step-runner';

export interface ObservedStep {
  step: JobStepId;
  outcome: 'started' | 'succeeded' | 'failed' | 'skipped';
  summary?: StepSummary;
  error?: unknown;
}

/** Records what a step runner tells its observer, in order. */
export class RecordingObserver implements StepObserver {
  readonly events: ObservedStep[] = [];

  stepStarted(step: JobStepId): void {
    this.events.push({ step, outcome: 'started' });
  }

  stepSucceeded(step: JobStepId, summary: StepSummary): void {
    this.events.push({ step, outcome: 'succeeded', summary });
  }

  stepFailed(step: JobStepId, error: unknown): void {
    this.events.push({ step, outcome: 'failed', error });
  }

  stepSkipped(step: JobStepId, summary: StepSummary): void {
    this.events.push({ step, outcome: 'skipped', summary });
  }

  /** The steps that ended with `outcome`, in order. */
  steps(outcome: ObservedStep['outcome']): JobStepId[] {
    return this.events.filter((event) => event.outcome === outcome).map((event) => event.step);
  }

  summaryOf(step: JobStepId): StepSummary | undefined {
    return this.events.find((event) => event.step === step && event.outcome === 'succeeded')?.summary;
  }
}
