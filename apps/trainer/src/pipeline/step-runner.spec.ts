import type { JobStepId } from '@sepal/contracts';
import { RecordingObserver } from '../../test/support/recording-observer';
import { StepRunner, TRAINER_STEPS, type PipelineStep, type StepObserver } from './step-runner';

/** A step that doubles its input, or throws `failure`. */
function step(id: JobStepId, failure?: Error): PipelineStep<number, number> & { ran: number[] } {
  const ran: number[] = [];
  return {
    id,
    ran,
    async run(input) {
      ran.push(input);
      if (failure) throw failure;
      return input * 2;
    },
    summarize: (output) => ({ made: output }),
  };
}

describe('StepRunner', () => {
  it("runs each step in the trainer's order and tells the observer before and after, with its summary", async () => {
    const observer = new RecordingObserver();
    const runner = new StepRunner(observer);
    let value = 1;
    for (const id of TRAINER_STEPS) value = await runner.run(step(id), value);
    expect(value).toBe(2 ** TRAINER_STEPS.length);
    expect(observer.events.slice(0, 4)).toEqual([
      { step: 'resolve-data', outcome: 'started' },
      { step: 'resolve-data', outcome: 'succeeded', summary: { made: 2 } },
      { step: 'train-trials', outcome: 'started' },
      { step: 'train-trials', outcome: 'succeeded', summary: { made: 4 } },
    ]);
    expect(observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
  });

  it('stops at a failing step: the observer hears which one, the error is rethrown as is, nothing runs after', async () => {
    const observer = new RecordingObserver();
    const runner = new StepRunner(observer);
    const failure = new Error('registry unreachable');
    await runner.run(step('resolve-data'), 1);
    await expect(runner.run(step('train-trials', failure), 2)).rejects.toBe(failure);
    const next = step('select');
    await expect(runner.run(next, 3)).rejects.toThrow(
      "step 'select' cannot run: the job stopped at the failed step 'train-trials'",
    );
    expect(next.ran).toEqual([]);
    expect(observer.events.map(({ step, outcome }) => `${step} ${outcome}`)).toEqual([
      'resolve-data started',
      'resolve-data succeeded',
      'train-trials started',
      'train-trials failed',
    ]);
    expect(observer.events[3].error).toBe(failure);
  });

  it('refuses a step out of order, skipped or run twice, before running it', async () => {
    const runner = new StepRunner(new RecordingObserver());
    const early = step('select');
    await expect(runner.run(early, 1)).rejects.toThrow(
      "step 'select' cannot run now: the next step is 'resolve-data'",
    );
    expect(early.ran).toEqual([]);
    await runner.run(step('resolve-data'), 1);
    await expect(runner.run(step('resolve-data'), 1)).rejects.toThrow("the next step is 'train-trials'");

    const short = new StepRunner(new RecordingObserver(), ['resolve-data']);
    await short.run(step('resolve-data'), 1);
    await expect(short.run(step('train-trials'), 1)).rejects.toThrow('every step has run');
  });

  it("keeps the step's error when the observer cannot record the failure", async () => {
    const observer: StepObserver = {
      stepStarted: () => undefined,
      stepSucceeded: () => undefined,
      stepFailed: () => {
        throw new Error('job store down');
      },
    };
    const failure = new Error('dataset too small');
    await expect(new StepRunner(observer).run(step('resolve-data', failure), 1)).rejects.toBe(failure);
  });

  it('fails the step when the observer cannot record its start, without running it', async () => {
    const refused = new Error('job store down');
    const observer: StepObserver = {
      stepStarted: () => Promise.reject(refused),
      stepSucceeded: () => undefined,
      stepFailed: () => undefined,
    };
    const first = step('resolve-data');
    await expect(new StepRunner(observer).run(first, 1)).rejects.toBe(refused);
    expect(first.ran).toEqual([]);
  });
});
