import {
  DEFAULT_FOREST_PARAMS,
  DEFAULT_GBDT_PARAMS,
  DEFAULT_TRAINING_PARAMS,
  numericPreprocessing,
} from '@sepal/ml';
import { splitIris } from '../../test/support/iris';
import { irisTreeSweep, TreeTrainer } from '../../test/support/tree-sweep';
import { isBetterTrial, runGridSearch, type SweepData, type TrialResult } from './grid-search';

const trial = (index: number, valAccuracy: number, parameterCount: number, valLoss: number): TrialResult => ({
  index,
  params: { model: 'dense', ...DEFAULT_TRAINING_PARAMS },
  status: 'finished',
  valAccuracy,
  valLoss,
  bestEpoch: 10,
  epochsRun: 20,
  parameterCount,
  stoppedEarly: true,
  seconds: 1,
});

describe('isBetterTrial', () => {
  it('prefers the higher validation accuracy whatever the size and loss', () => {
    expect(isBetterTrial(trial(1, 0.96, 500, 0.3), trial(0, 0.92, 50, 0.01))).toBe(true);
  });

  it('among equally accurate trials prefers the smaller network, even with a higher loss', () => {
    expect(isBetterTrial(trial(1, 0.96, 67, 0.09), trial(0, 0.96, 259, 0.05))).toBe(true);
    expect(isBetterTrial(trial(1, 0.96, 259, 0.05), trial(0, 0.96, 67, 0.09))).toBe(false);
  });

  it('breaks a tie of accuracy and size on the validation loss, and keeps the earlier trial on a complete tie', () => {
    expect(isBetterTrial(trial(1, 0.96, 67, 0.08), trial(0, 0.96, 67, 0.09))).toBe(true);
    expect(isBetterTrial(trial(1, 0.96, 67, 0.09), trial(0, 0.96, 67, 0.09))).toBe(false);
  });

  it('never selects a failed trial', () => {
    expect(isBetterTrial({ ...trial(1, 1, 10, 0), status: 'failed' }, null)).toBe(false);
  });
});

describe('isBetterTrial across families', () => {
  const of = (
    model: 'forest' | 'dense',
    valAccuracy: number,
    size: number,
    valLoss: number,
  ): TrialResult => ({
    ...trial(0, valAccuracy, size, valLoss),
    params: model === 'dense' ? { model, ...DEFAULT_TRAINING_PARAMS } : { model, ...DEFAULT_FOREST_PARAMS },
  });

  it('selects on validation accuracy whatever the family', () => {
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.9), of('dense', 0.6, 300, 0.8))).toBe(true);
    expect(isBetterTrial(of('dense', 0.7, 300, 0.9), of('forest', 0.6, 90_000, 0.8))).toBe(true);
  });

  it('selects regressors on the validation RMSE whatever the family; a tie across families keeps the earlier', () => {
    const rmse = (model: 'forest' | 'dense', valRmse: number, size: number) => ({
      ...of(model, 0, size, 1),
      valRmse,
    });
    expect(isBetterTrial(rmse('forest', 0.5, 90_000), rmse('dense', 0.6, 300))).toBe(true);
    expect(isBetterTrial(rmse('dense', 0.6, 300), rmse('forest', 0.5, 90_000))).toBe(false);
    expect(isBetterTrial(rmse('dense', 0.5, 300), rmse('forest', 0.5, 90_000))).toBe(false);
    expect(isBetterTrial(rmse('forest', 0.5, 800), rmse('forest', 0.5, 900))).toBe(true);
  });

  it('breaks an accuracy tie across families on the validation loss, not on the size', () => {
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.5), of('dense', 0.7, 300, 0.6))).toBe(true);
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.7), of('dense', 0.7, 300, 0.6))).toBe(false);
  });
});

describe('runGridSearch with tree families', () => {
  const { data, test: testRows } = irisTreeSweep(3);
  const iris = splitIris(3);

  const forest = { model: 'forest' as const, ...DEFAULT_FOREST_PARAMS, trees: 40 };
  const gbdt = { model: 'gbdt' as const, ...DEFAULT_GBDT_PARAMS };

  it('grows a forest in parts across workers, equal to the forest grown at once', async () => {
    const split = new TreeTrainer(3);
    const whole = new TreeTrainer(1);
    const [a, b] = await Promise.all([
      runGridSearch([forest], data, 42, split, {}, testRows),
      runGridSearch([forest], data, 42, whole, {}, testRows),
    ]);
    expect(split.requests.map((r) => (r.family === 'forest' ? r.treeIndices?.length : 0))).toEqual([
      13, 13, 14,
    ]);
    expect(whole.requests.map((r) => (r.family === 'forest' ? r.treeIndices : null))).toEqual([undefined]);
    expect(a.best?.valAccuracy).toBe(b.best?.valAccuracy);
    expect(a.best?.valLoss).toBeCloseTo(b.best?.valLoss ?? NaN, 12);
    const [pa, pb] = await Promise.all([a.model!.predictProba(testRows), b.model!.predictProba(testRows)]);
    pa.forEach((row, r) => row.forEach((p, k) => expect(p).toBeCloseTo(pb[r][k], 12)));
    expect(a.best?.featureImportance?.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
  });

  it('records a boosted trial’s rounds, and skips the trials left once the budget is spent', async () => {
    const outcome = await runGridSearch([gbdt, forest], data, 42, new TreeTrainer(1), {}, testRows, 0);
    expect(outcome.trials[0].status).toBe('finished');
    expect(outcome.trials[0].rounds?.length).toBe(outcome.trials[0].epochsRun);
    expect(outcome.trials[1]).toMatchObject({ status: 'failed' });
    expect(outcome.trials[1].error).toMatch(/^not started: the sweep spent its training budget of 0 s/);
    expect(outcome.best?.index).toBe(0);
  });

  it('fails a tree trial on a sweep without the rows encoded for trees', async () => {
    const { trees: _trees, ...encodedOnly } = data;
    const outcome = await runGridSearch([forest], encodedOnly, 42, new TreeTrainer(1), {}, testRows);
    expect(outcome.trials[0].error).toMatch(/model forest needs the rows encoded for trees/);
  });

  it('trains regression trees, scores their validation RMSE, MAE, R² and tolerance, and selects the lower RMSE', async () => {
    // Petal width from the other three measurements: a smooth target the trees fit well.
    const regression = (x: number[][]) => ({ x: x.map((row) => row.slice(0, 3)), y: x.map((row) => row[3]) });
    const [fit, val, test] = [iris.train.x, iris.validation.x, iris.test.x].map(regression);
    const names = iris.featureNames.slice(0, 3);
    const sweep: SweepData = {
      task: 'regression',
      tolerance: 0.25,
      xFit: fit.x,
      yFit: fit.y,
      xVal: val.x,
      yVal: val.y,
      labels: [],
      featureNames: names,
      trees: { preprocessing: numericPreprocessing(names), xFit: fit.x, xVal: val.x, test: test.x },
    };
    const split = new TreeTrainer(2);
    const outcome = await runGridSearch(
      [{ ...forest, featureFraction: 1 }, gbdt],
      sweep,
      42,
      split,
      {},
      test.x,
    );
    expect(
      split.requests.every(
        (request) =>
          (request.family === 'forest' || request.family === 'gbdt') && request.task === 'regression',
      ),
    ).toBe(true);
    for (const result of outcome.trials) {
      expect(result.status).toBe('finished');
      expect(result.valRmse).toBeLessThan(0.3);
      expect(result.valLoss).toBeCloseTo((result.valRmse ?? NaN) ** 2, 12);
      expect(result.valRegression?.r2).toBeGreaterThan(0.8);
      expect(result.valRegression?.mae).toBeLessThanOrEqual(result.valRmse ?? 0);
      expect(result.valRegression?.withinTolerance).toBeGreaterThan(0.5);
      expect(result.valAccuracy).toBe(0);
    }
    const rmses = outcome.trials.map((result) => result.valRmse as number);
    expect(outcome.best?.index).toBe(rmses.indexOf(Math.min(...rmses)));
    // The selected model's values of the test rows (a forest grown in two parts: the mean of all its trees).
    const values = (await outcome.model!.predictProba(test.x)).map(([value]) => value);
    const rmse = Math.sqrt(
      values.reduce((sum, value, r) => sum + (value - test.y[r]) ** 2, 0) / values.length,
    );
    expect(rmse).toBeLessThan(0.35);
  });
});
