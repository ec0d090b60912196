import { DEFAULT_FOREST_PARAMS, DEFAULT_GBDT_PARAMS, DEFAULT_TRAINING_PARAMS } from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';
import { DEFAULT_PLAN_LIMITS, describeTrial, planJob } from './job-plan';

const limits = DEFAULT_PLAN_LIMITS;
const wineWhite = { features: 11, classes: 7, rows: 3134 };

describe('planJob', () => {
  it('expands the default grids: a forest, boosting at two learning rates, then the dense grid', () => {
    const plan = planJob(undefined, undefined, limits);
    expect(plan.defaultGrid).toBe(true);
    expect(plan.trials.map((t) => t.model)).toEqual(['forest', 'gbdt', 'gbdt', ...Array(9).fill('dense')]);
    expect(plan.trials[0]).toEqual({ model: 'forest', ...DEFAULT_FOREST_PARAMS, trees: 300 });
    expect(plan.trials[2]).toEqual({ model: 'gbdt', ...DEFAULT_GBDT_PARAMS, learningRate: 0.1 });
    expect(plan.trials[3]).toEqual({
      model: 'dense',
      ...DEFAULT_TRAINING_PARAMS,
      learningRate: 0.001,
      hiddenUnits: 8,
    });
    expect(plan.budgetSeconds).toBe(limits.defaultBudgetSeconds);
  });

  it('fits the default grid into the budget once the data is known, keeping the forest', () => {
    expect(planJob(undefined, undefined, limits, 300, wineWhite).trials).toHaveLength(12);
    const tight = planJob(undefined, undefined, limits, 5, wineWhite);
    expect(tight.trials.map((t) => t.model)).toEqual(['forest']);
    expect(tight.budgetSeconds).toBe(5);
  });

  it('plans the three families for a regression dataset too (its shape has one output)', () => {
    const plan = planJob(undefined, undefined, limits, 300, { ...wineWhite, classes: 0 }, 'regression');
    expect([...new Set(plan.trials.map((t) => t.model))]).toEqual(['forest', 'gbdt', 'dense']);
    expect(plan.trials).toHaveLength(12);
  });

  it('gives a regression forest every feature at each split unless the job says otherwise', () => {
    const forest = (params?: Record<string, unknown>, task?: 'regression') =>
      planJob({ model: ['forest'], trees: [10] }, params, limits, undefined, undefined, task).trials[0];
    expect(forest()).toMatchObject({ featureFraction: 'sqrt' });
    expect(forest(undefined, 'regression')).toMatchObject({ featureFraction: 1 });
    expect(forest({ featureFraction: 0.5 }, 'regression')).toMatchObject({ featureFraction: 0.5 });
  });

  it('keeps a dense grid without `model` as it was', () => {
    const plan = planJob({ optimizer: ['sgd', 'adam'] }, { epochs: 5 }, limits);
    expect(plan.trials).toEqual([
      { model: 'dense', ...DEFAULT_TRAINING_PARAMS, optimizer: 'sgd', epochs: 5 },
      { model: 'dense', ...DEFAULT_TRAINING_PARAMS, optimizer: 'adam', epochs: 5 },
    ]);
    expect(describeTrial(plan.trials[0], plan.grid)).toBe('optimizer=sgd');
  });

  it('spans families: shared parameters apply to each family that has them, fixed params too', () => {
    const plan = planJob(
      { model: ['dense', 'gbdt'], learningRate: [0.05, 0.1] },
      { epochs: 7, maxLeaves: 15 },
      limits,
    );
    expect(plan.trials.map((t) => [t.model, 'learningRate' in t ? t.learningRate : null])).toEqual([
      ['dense', 0.05],
      ['dense', 0.1],
      ['gbdt', 0.05],
      ['gbdt', 0.1],
    ]);
    expect(plan.trials[0]).toMatchObject({ epochs: 7 });
    expect(plan.trials[3]).toMatchObject({ maxLeaves: 15 });
    expect(describeTrial(plan.trials[3], plan.grid)).toBe('model=gbdt learningRate=0.1');
  });

  it('takes a list of grids, one per family, and CLI strings for booleans', () => {
    const plan = planJob(
      [
        { model: ['forest'], trees: [50, 100], bootstrap: ['false'] },
        { model: ['gbdt'], maxDepth: [3] },
      ],
      undefined,
      limits,
    );
    expect(plan.trials.map((t) => t.model)).toEqual(['forest', 'forest', 'gbdt']);
    expect(plan.trials[1]).toMatchObject({ trees: 100, bootstrap: false });
    expect(describeTrial(plan.trials[1], plan.grid)).toBe('model=forest trees=100 bootstrap=false');
  });

  it('takes the family of a grid without `model` from params.model', () => {
    const plan = planJob({ trees: [10] }, { model: 'forest' }, limits);
    expect(plan.trials).toEqual([{ model: 'forest', ...DEFAULT_FOREST_PARAMS, trees: 10 }]);
  });

  it.each([
    [{ dropRate: [0.5] }, undefined, /unknown parameter "dropRate"/],
    [{ hiddenUnits: [] }, undefined, /hiddenUnits: the list of values is empty/],
    [{ learningRate: ['fast'] }, undefined, /learningRate: "fast" is a string, expected a number/],
    [{}, undefined, /names no parameter/],
    [undefined, { epochs: 0 }, /params\.epochs: 0 is out of bounds/],
    [undefined, { colour: 'red' }, /params: unknown parameter "colour"/],
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
    [{ model: ['svm'] }, undefined, /model: "svm" is not one of dense, forest, gbdt/],
    [{ trees: [10] }, undefined, /trees is a parameter of model forest, not of dense/],
    [{ model: ['forest'], trees: [1e9] }, undefined, /trees: 1000000000 is out of bounds/],
    [
      { model: ['forest'], trees: [5000] },
      undefined,
      /trees 5000 is over the limit of 1000 \(TRAIN_MAX_TREES\)/,
    ],
    [
      { model: ['gbdt'], rounds: [5000] },
      undefined,
      /rounds 5000 is over the limit of 2000 \(TRAIN_MAX_ROUNDS\)/,
    ],
    [
      { model: ['gbdt'], maxDepth: [40] },
      undefined,
      /maxDepth 40 is over the limit of 32 \(TRAIN_MAX_TREE_DEPTH\)/,
    ],
    [{ model: ['gbdt'], maxLeaves: [4096] }, undefined, /maxLeaves 4096 is over the limit of 1024/],
    [
      { model: ['forest'], featureFraction: ['half'] },
      undefined,
      /featureFraction: "half" is not a number or "sqrt"/,
    ],
    [{ model: ['forest'], bootstrap: ['maybe'] }, undefined, /bootstrap: "maybe" is not true or false/],
    [{ model: ['dense', 'gbdt'], learningRate: [2] }, undefined, /gbdt\.learningRate: 2 is out of bounds/],
    [[], undefined, /the list of grids is empty/],
    [undefined, { model: 'tree' }, /params\.model: "tree" is not one of/],
  ])('rejects %j / %j', (grid, params, message) => {
    expect(() => planJob(grid, params, limits)).toThrow(JobRejectedError);
    expect(() => planJob(grid, params, limits)).toThrow(message);
  });

  it('names every problem at once, and the budget limits', () => {
    const attempt = () =>
      planJob(
        [
          { model: ['forest'], trees: [0], maxBins: [100_000] },
          { model: ['gbdt'], rounds: [-1] },
        ],
        { colour: 1 },
        limits,
        1e9,
      );
    expect(attempt).toThrow(/budgetSeconds 1000000000 is over the limit of 86400 \(TRAIN_MAX_BUDGET_S\)/);
    expect(attempt).toThrow(/grid: grid 1: trees: 0 is out of bounds/);
    expect(attempt).toThrow(/grid 1: maxBins: 100000 is out of bounds/);
    expect(attempt).toThrow(/grid 2: rounds: -1 is out of bounds/);
    expect(attempt).toThrow(/unknown parameter "colour"/);
  });

  it('bounds rows × trees once the data is known', () => {
    expect(() =>
      planJob(
        { model: ['forest'], trees: [1000] },
        undefined,
        { ...limits, maxTreeRows: 1_000_000 },
        300,
        wineWhite,
      ),
    ).toThrow('3134 rows × trees grown = 3134000 is over the limit of 1000000 (TRAIN_MAX_TREE_ROWS)');
  });
});
