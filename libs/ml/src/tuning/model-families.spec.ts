import { DEFAULT_TRAINING_LIMITS } from './training-limits';
import { DEFAULT_TRAINING_PARAMS } from './training-params';
import {
  DEFAULT_FOREST_PARAMS,
  DEFAULT_TREE_LIMITS,
  defaultModelGrid,
  estimateTrialSeconds,
  expandModelGrid,
  familyParamValue,
  forestParamsOf,
  gbdtParamsOf,
  DEFAULT_GBDT_PARAMS,
  refitTrialParams,
  resolveFixedParams,
  trialLimitProblems,
  validateModelGrid,
  type TrialParams,
} from './model-families';

const errorsOf = (grid: unknown) => {
  const result = validateModelGrid(grid);
  return result.ok ? [] : result.errors;
};

describe('validateModelGrid', () => {
  it('reads a grid without model as a dense grid, and checks each family’s parameters', () => {
    expect(validateModelGrid({ hiddenUnits: [8] })).toEqual({
      ok: true,
      value: [{ families: ['dense'], values: { hiddenUnits: [8] } }],
    });
    expect(
      errorsOf({ model: ['forest'], trees: [10], maxDepth: [0, 8], featureFraction: ['sqrt', 0.5] }),
    ).toEqual([]);
  });

  it('names every problem, with the grid and the family where it helps', () => {
    expect(
      errorsOf([
        { model: ['forest', 'xgboost'] },
        { model: ['gbdt'], rounds: [1.5], maxLeaves: [1], trees: [5] },
        { model: ['dense', 'gbdt'], l2: [-1] },
      ]),
    ).toEqual([
      'grid 1: model: "xgboost" is not one of dense, forest, gbdt, cnn',
      'grid 2: rounds: 1.5 is not an integer',
      'grid 2: maxLeaves: 1 is out of bounds, expected >= 2 and <= 65536',
      'grid 2: trees is a parameter of model forest, not of gbdt; add it to model or move it to a grid of its own',
      'grid 3: dense.l2: -1 is out of bounds, expected >= 0',
    ]);
    expect(errorsOf({ model: ['forest'], tres: [5] })[0]).toMatch(
      /^unknown parameter "tres" for model forest; known parameters: model; forest: trees, maxDepth,/,
    );
    expect(errorsOf({ model: ['forest'], maxbins: [5] })[0]).toMatch(/did you mean maxBins\?/);
  });

  it('rejects duplicates after normalising CLI strings, and too many grids', () => {
    expect(errorsOf({ model: ['forest'], bootstrap: [true, 'true'] })).toEqual([
      'bootstrap: "true" is listed twice',
    ]);
    expect(errorsOf(Array.from({ length: 17 }, () => ({ model: ['forest'] })))).toEqual([
      '17 grids are listed; at most 16 are allowed',
    ]);
  });
});

describe('expandModelGrid', () => {
  it('expands each grid per family over that family’s base, in grid then family order', () => {
    const checked = validateModelGrid([
      { model: ['gbdt', 'dense'], learningRate: [0.1, 0.2] },
      { model: ['forest'], trees: [5] },
    ]);
    if (!checked.ok) throw new Error(checked.errors.join('; '));
    const trials = expandModelGrid(checked.value);
    expect(trials.map((t) => [t.model, 'learningRate' in t ? t.learningRate : t.trees])).toEqual([
      ['gbdt', 0.1],
      ['gbdt', 0.2],
      ['dense', 0.1],
      ['dense', 0.2],
      ['forest', 5],
    ]);
    expect(trials[4]).toEqual({ model: 'forest', ...DEFAULT_FOREST_PARAMS, trees: 5 });
  });

  it('applies fixed params to every family that has them', () => {
    const { bases, problems, defaultFamily } = resolveFixedParams({ model: 'gbdt', minSamplesLeaf: 3 });
    expect(problems).toEqual([]);
    expect(defaultFamily).toBe('gbdt');
    expect(bases.forest.minSamplesLeaf).toBe(3);
    expect(bases.gbdt.minSamplesLeaf).toBe(3);
    expect(resolveFixedParams({ learningRate: 3 }).problems).toEqual([
      'params.gbdt.learningRate: 3 is out of bounds, expected > 0 and <= 1',
    ]);
  });
});

describe('trialLimitProblems', () => {
  const limits = { ...DEFAULT_TRAINING_LIMITS, ...DEFAULT_TREE_LIMITS };
  const forest = (trees: number): TrialParams => ({ model: 'forest', ...DEFAULT_FOREST_PARAMS, trees });

  it('bounds trees, rounds, depth and leaves, naming the variable', () => {
    expect(
      trialLimitProblems(
        [
          forest(2000),
          { model: 'gbdt', ...DEFAULT_GBDT_PARAMS, rounds: 5000, maxDepth: 40, maxLeaves: 2048 },
        ],
        limits,
      ),
    ).toEqual([
      'trees 2000 is over the limit of 1000 (TRAIN_MAX_TREES)',
      'rounds 5000 is over the limit of 2000 (TRAIN_MAX_ROUNDS)',
      'maxDepth 40 is over the limit of 32 (TRAIN_MAX_TREE_DEPTH)',
      'maxLeaves 2048 is over the limit of 1024 (TRAIN_MAX_LEAVES)',
    ]);
  });

  it('bounds rows × trees grown once the data is known (a boosted classifier grows a tree per class)', () => {
    const boosted: TrialParams = { model: 'gbdt', ...DEFAULT_GBDT_PARAMS, rounds: 1000 };
    expect(trialLimitProblems([boosted], limits, { features: 11, classes: 7, rows: 10_000 })).toEqual([
      '10000 rows × trees grown = 70000000 is over the limit of 50000000 (TRAIN_MAX_TREE_ROWS)',
    ]);
    expect(trialLimitProblems([forest(300)], limits, { features: 11, classes: 7, rows: 10_000 })).toEqual([]);
  });
});

describe('the default grid and the budget', () => {
  const white = { features: 11, classes: 7, rows: 3134 };

  it('lists the forest, boosting and the dense grid, and keeps what the budget fits', () => {
    expect(defaultModelGrid().map((grid) => grid.model)).toEqual([['forest'], ['gbdt'], ['dense']]);
    expect(defaultModelGrid(white, 300).map((grid) => grid.model)).toEqual([['forest'], ['gbdt'], ['dense']]);
    expect(defaultModelGrid(white, 1).map((grid) => grid.model)).toEqual([['forest']]);
    // Wine red: the trees fit 10 s, the dense grid's 9 trials (about 25 s) do not.
    const red = { features: 11, classes: 6, rows: 1022 };
    expect(defaultModelGrid(red, 10).map((grid) => grid.model)).toEqual([['forest'], ['gbdt']]);
    expect(defaultModelGrid(red, 60).map((grid) => grid.model)).toEqual([['forest'], ['gbdt'], ['dense']]);
  });

  it("estimates a dense trial by its batches, near bench:quality's figures", () => {
    const dense: TrialParams = { model: 'dense', ...DEFAULT_TRAINING_PARAMS, hiddenUnits: 16 };
    // bench:quality, idle 2-core machine: about 10 s a trial on white's 3,134 fit rows, 2.7 s on red's 1,022.
    expect(estimateTrialSeconds(dense, white)).toBeGreaterThan(5);
    expect(estimateTrialSeconds(dense, white)).toBeLessThan(20);
    expect(estimateTrialSeconds(dense, { features: 11, classes: 6, rows: 1022 })).toBeGreaterThan(1.4);
  });

  it('estimates more time for more work', () => {
    const forest = (trees: number): TrialParams => ({ model: 'forest', ...DEFAULT_FOREST_PARAMS, trees });
    expect(estimateTrialSeconds(forest(300), white)).toBeGreaterThan(
      estimateTrialSeconds(forest(100), white),
    );
    expect(estimateTrialSeconds(forest(300), white)).toBeGreaterThan(1);
    expect(estimateTrialSeconds(forest(300), white)).toBeLessThan(30);
  });
});

describe('parameters for the learners', () => {
  it('maps maxDepth 0 to no limit and keeps the rest', () => {
    expect(forestParamsOf(DEFAULT_FOREST_PARAMS, 'classification')).toMatchObject({
      maxDepth: null,
      trees: 300,
    });
    expect(gbdtParamsOf({ ...DEFAULT_GBDT_PARAMS, maxDepth: 6 }, 'classification')).toMatchObject({
      maxDepth: 6,
      maxLeaves: 31,
    });
    expect(familyParamValue('forest', 'bootstrap', 'false')).toEqual({ ok: true, value: false });
  });
});

describe('forest options in a grid', () => {
  it('takes classWeight none or balanced, minSamplesLeaf and featureFraction as grid values', () => {
    expect(
      errorsOf({
        model: ['forest'],
        classWeight: ['none', 'balanced'],
        minSamplesLeaf: [1, 3],
        featureFraction: ['sqrt', 0.5],
      }),
    ).toEqual([]);
    expect(errorsOf({ model: ['forest'], classWeight: ['even'] })).toEqual([
      'classWeight: "even" is not one of none, balanced',
    ]);
    expect(
      forestParamsOf({ ...DEFAULT_FOREST_PARAMS, classWeight: 'balanced' }, 'classification').classWeight,
    ).toBe('balanced');
    // A regressor has no classes to weigh.
    expect(
      forestParamsOf({ ...DEFAULT_FOREST_PARAMS, classWeight: 'balanced' }, 'regression').classWeight,
    ).toBe('none');
  });
});

describe('refitTrialParams', () => {
  it('fixes what early stopping chose and stops nothing early; a forest is grown as it was', () => {
    const [dense, forest, gbdt] = expandModelGrid([{ families: ['dense', 'forest', 'gbdt'], values: {} }]);
    expect(refitTrialParams(dense, 17)).toMatchObject({
      model: 'dense',
      epochs: 17,
      earlyStoppingPatience: 0,
    });
    expect(refitTrialParams(gbdt, 42)).toMatchObject({ model: 'gbdt', rounds: 42, earlyStoppingRounds: 0 });
    expect(refitTrialParams(forest, 300)).toEqual(forest);
    // Never more than the trial was allowed, never less than one.
    expect(refitTrialParams(gbdt, 5000)).toMatchObject({ rounds: DEFAULT_GBDT_PARAMS.rounds });
    expect(refitTrialParams(dense, 0)).toMatchObject({ epochs: 1 });
  });
});
