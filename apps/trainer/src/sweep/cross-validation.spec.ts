import { DEFAULT_FOREST_PARAMS, DEFAULT_GBDT_PARAMS } from '@sepal/ml';
import { irisTreeSweep, TreeTrainer } from '../../test/support/tree-sweep';
import { allTrainRows, crossValidateTrial, foldSweep, stratifiedFolds } from './cross-validation';
import { runGridSearch, type SweepData } from './grid-search';
import { trainTrial } from './train-trial';

const SEED = 7;

describe('stratifiedFolds', () => {
  it(`deals every stratum round the folds: sizes within one row, each class in each fold (seed ${SEED})`, () => {
    const strata = [
      ...new Array<number>(40).fill(0),
      ...new Array<number>(13).fill(1),
      ...new Array<number>(7).fill(2),
    ];
    const foldOf = stratifiedFolds(strata, 5, SEED);
    const sizes = [0, 1, 2, 3, 4].map((fold) => foldOf.filter((f) => f === fold).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const fold of [0, 1, 2, 3, 4]) {
      const classes = new Set(strata.filter((_, row) => foldOf[row] === fold));
      expect(classes.has(0)).toBe(true);
      expect(classes.has(1)).toBe(true);
    }
    expect(stratifiedFolds(strata, 5, SEED)).toEqual(foldOf);
    expect(stratifiedFolds(strata, 5, SEED + 1)).not.toEqual(foldOf);
    expect(() => stratifiedFolds(strata, 1, SEED)).toThrow('folds must be >= 2');
  });
});

describe('cross-validated selection', () => {
  const { data: base, test } = irisTreeSweep(3);
  const all = allTrainRows(base);
  const folds = 4;
  const data: SweepData = {
    ...base,
    crossValidation: { folds, foldOf: stratifiedFolds(all.yFit, folds, SEED) },
  };
  const forest = { model: 'forest' as const, ...DEFAULT_FOREST_PARAMS, trees: 10 };
  const run = (rows: SweepData) => ({
    index: 0,
    params: forest,
    data: rows,
    seed: SEED,
    trainer: new TreeTrainer(),
    hooks: {},
    predictRows: test,
  });

  it('holds out each fold once: the folds partition the fit and validation rows', () => {
    const held = [0, 1, 2, 3].flatMap((fold) => foldSweep(data, fold).yVal);
    expect(held).toHaveLength(all.yFit.length);
    const fold = foldSweep(data, 2);
    expect(fold.xFit.length + fold.xVal.length).toBe(all.xFit.length);
    expect(fold.trees?.xVal).toHaveLength(fold.xVal.length);
    expect(fold.crossValidation).toBeUndefined();
  });

  it(`scores a trial by its mean over the folds, each fold trained on the others' rows (seed ${SEED})`, async () => {
    const trainer = new TreeTrainer();
    const { result, trained } = await crossValidateTrial({ ...run(data), trainer });
    expect(trainer.requests).toHaveLength(folds);
    expect(trainer.requests.map((request) => request.xTrain.length + request.xVal.length)).toEqual(
      new Array(folds).fill(all.xFit.length),
    );
    const perFold = await Promise.all(
      [0, 1, 2, 3].map(async (fold) => {
        const rows = foldSweep(data, fold);
        return (await trainTrial(run(rows))).result;
      }),
    );
    expect(result).toMatchObject({ status: 'finished', folds });
    // Not cross-validated itself, each fold is a plain trial; the mean of theirs is the trial's figure.
    expect(perFold.every((fold) => fold.folds === undefined)).toBe(true);
    expect(result.valAccuracy).toBeCloseTo(
      perFold.reduce((sum, fold) => sum + fold.valAccuracy, 0) / folds,
      12,
    );
    expect(trained?.family).toBe('forest');
    await expect(crossValidateTrial({ ...run(base), trainer })).rejects.toThrow('not cross-validated');
  });

  it('keeps the fold-averaged best round of boosting for the refit, and selects on the mean', async () => {
    const gbdt = { model: 'gbdt' as const, ...DEFAULT_GBDT_PARAMS, rounds: 30, earlyStoppingRounds: 3 };
    const outcome = await runGridSearch([forest, gbdt], data, SEED, new TreeTrainer(), {}, test);
    expect(outcome.trials.map((trial) => trial.folds)).toEqual([folds, folds]);
    const [, boosted] = outcome.trials;
    expect(boosted.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(boosted.bestEpoch).toBeLessThanOrEqual(30);
    expect(outcome.best).not.toBeNull();
    outcome.model?.dispose();
  });
});
