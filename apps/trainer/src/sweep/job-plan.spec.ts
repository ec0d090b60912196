import { DEFAULT_TRAINING_PARAMS } from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';
import { planJob } from './job-plan';

describe('planJob', () => {
  it('expands the default grid (2 parameters x 3 values) over the defaults', () => {
    const plan = planJob(undefined, undefined);
    expect(plan.trials).toHaveLength(9);
    expect(plan.trials[0]).toEqual({ ...DEFAULT_TRAINING_PARAMS, learningRate: 0.001, hiddenUnits: 8 });
  });

  it('applies fixed params under any grid of declared parameters', () => {
    const plan = planJob({ optimizer: ['sgd', 'adam'] }, { epochs: 5 });
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
  ])('rejects %j / %j', (grid, params, message) => {
    expect(() => planJob(grid, params)).toThrow(JobRejectedError);
    expect(() => planJob(grid, params)).toThrow(message);
  });
});
