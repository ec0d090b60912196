import { JOB_STEPS, type JobStepChanged, type JobStepId } from '@sepal/contracts';

/** The steps a trainer runs, in order: every job step but `served`, which the gateways report. */
export const TRAINER_STEPS: readonly JobStepId[] = JOB_STEPS.filter((step) => step !== 'served');

/** A few figures of a step's outcome for the job view, e.g. {"trials": 9, "best_val_accuracy": 0.97}. */
export type StepSummary = JobStepChanged['summary'];

/** One step of a training job: a typed input, a typed output, and the figures of the output for a job view. */
export interface PipelineStep<I, O> {
  readonly id: JobStepId;
  run(input: I): Promise<O>;
  summarize(output: O): StepSummary;
}

/**
 * Hears each step of one job start and end. Today it logs; a durable job record (state, attempt, times, error per
 * step) is kept by implementing it. A throw from stepStarted or stepSucceeded fails the job like a failing step.
 */
export interface StepObserver {
  stepStarted(step: JobStepId): Promise<void> | void;
  stepSucceeded(step: JobStepId, summary: StepSummary): Promise<void> | void;
  /** The step threw `error`; the runner rethrows it unchanged after this returns. */
  stepFailed(step: JobStepId, error: unknown): Promise<void> | void;
  /** The step was not run: a resumed attempt reuses its result (the summary names what it reused). */
  stepSkipped?(step: JobStepId, summary: StepSummary): Promise<void> | void;
}

/**
 * Runs one job's steps, one at a time and only in TRAINER_STEPS order (a step skipped or run twice is refused, so the
 * observer's record always follows the contract), telling the observer before and after each. A failing step stops
 * the job: the observer hears which one, the error is rethrown as it was thrown, and no further step runs.
 */
export class StepRunner {
  private next = 0;
  private failed: JobStepId | undefined;

  constructor(
    private readonly observer: StepObserver,
    private readonly order: readonly JobStepId[] = TRAINER_STEPS,
    private readonly signal?: AbortSignal,
  ) {}

  async run<I, O>(step: PipelineStep<I, O>, input: I): Promise<O> {
    this.checkTurn(step.id);
    this.next++;
    await this.observer.stepStarted(step.id);
    let output: O;
    try {
      // A cancelled job stops at the next step boundary (the trials themselves stop at once).
      this.signal?.throwIfAborted();
      output = await step.run(input);
    } catch (error) {
      this.failed = step.id;
      await this.tellFailure(step.id, error);
      throw error;
    }
    await this.observer.stepSucceeded(step.id, step.summarize(output));
    return output;
  }

  /** Passes over a step in its turn without running it (a resumed attempt reuses its result). */
  async skip(id: JobStepId, summary: StepSummary): Promise<void> {
    this.checkTurn(id);
    this.next++;
    await this.observer.stepSkipped?.(id, summary);
  }

  private checkTurn(id: JobStepId): void {
    if (this.failed !== undefined) {
      throw new Error(`step '${id}' cannot run: the job stopped at the failed step '${this.failed}'`);
    }
    const expected = this.order[this.next];
    if (id !== expected) {
      throw new Error(
        `step '${id}' cannot run now: ${expected === undefined ? 'every step has run' : `the next step is '${expected}'`}`,
      );
    }
  }

  /** The step's error is the job's: an observer failing to record it must not replace it. */
  private async tellFailure(id: JobStepId, error: unknown): Promise<void> {
    try {
      await this.observer.stepFailed(id, error);
    } catch {
      // The observer reports its own failures; the step's error is rethrown by the caller.
    }
  }
}
