import { DEFAULT_TRAINING_LIMITS, DEFAULT_TRAINING_PARAMS } from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';
import { planJob } from './job-plan';

describe('planJob', () => {
  it('expands the default grid (2 parameters x 3 values) over the defaults', () => {
    const plan = planJob(undefined, undefined, DEFAULT_TRAINING_LIMITS);
    expect(plan.trials).toHaveLength(9);
    expect(plan.trials[0]).toEqual({ ...DEFAULT_TRAINING_PARAMS, learningRate: 0.001, hiddenUnits: 8 });
  });

  it('applies fixed params under any grid of declared parameters', () => {
    const plan = planJob({ optimizer: ['sgd', 'adam'] }, { epochs: 5 }, DEFAULT_TRAINING_LIMITS);
    expect(plan.trials.map((t) => [t.optimizer, t.epochs])).toEqual([
      ['sgd', 5],
      ['adam', 5],
    ]);
  });

  it.each([
    [{ dropout: [0.5] }, undefined, /unknown parameter "dropout"/],
    [{ hiddenUnits: [] }, undefined, /hiddenUnits: the list of values is empty/],
    [{ learningRate: ['fast'] }, undefined, /learningRate: "fast" is a string, expected a number/],
    [{}, undefined, /names no parameter/],
    [undefined, { epochs: 0 }, /params\.epochs: 0 is out of bounds/],
    [undefined, { colour: 'red' }, /unknown parameter "colour" in params/],
    [
      { hiddenUnits: [1e9] },
      undefined,
      /hiddenUnits 1000000000 is over the limit of 1024 \(TRAIN_MAX_HIDDEN_UNITS\)/,
    ],
    [undefined, { epochs: 1e8 }, /epochs 100000000 is over the limit of 2000 \(TRAIN_MAX_EPOCHS\)/],
    [
      { learningRate: Array.from({ length: 300 }, (_, i) => (i + 1) / 1000) },
      undefined,
      /a grid of 300 trials is over the limit of 64 \(TRAIN_MAX_TRIALS\)/,
    ],
  ])('rejects %j / %j', (grid, params, message) => {
    expect(() => planJob(grid, params, DEFAULT_TRAINING_LIMITS)).toThrow(JobRejectedError);
    expect(() => planJob(grid, params, DEFAULT_TRAINING_LIMITS)).toThrow(message);
  });
});
