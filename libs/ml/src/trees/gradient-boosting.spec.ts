import { accuracy, noisyClasses, separableClasses, stepFunction } from '../../test/fixtures/tree-data';
import { createRng } from '../util/random';
import { trainGradientBoosting } from './gradient-boosting';
import { predictTreeProbabilities, predictTreeValues, treeFeatureImportance } from './predict-trees';
import { treeEnsembleProblems } from './validate-tree-model';

describe('trainGradientBoosting', () => {
  const train = separableClasses(createRng(1), 300);
  const test = separableClasses(createRng(2), 200);

  it('classifies a perfectly separable set without error, with one tree per class and round', () => {
    const model = trainGradientBoosting(train.x, train.y, { task: 'classification', rounds: 20 }, 1);
    expect(model.treesPerRound).toBe(3);
    expect(model.rounds).toBe(20);
    expect(model.trees).toHaveLength(60);
    expect(accuracy(predictTreeProbabilities(model, train.x), train.y)).toBe(1);
    expect(accuracy(predictTreeProbabilities(model, test.x), test.y)).toBe(1);
    expect(treeEnsembleProblems(model)).toEqual([]);
  });

  it('starts from the log class priors and lowers the training loss every round', () => {
    const data = noisyClasses(createRng(4), 400);
    const model = trainGradientBoosting(data.x, data.y, { task: 'classification', rounds: 15 }, 1);
    const priors = [0, 1, 2].map((k) => data.y.filter((label) => label === k).length / data.y.length);
    expect(model.baseScore).toEqual(priors.map(Math.log));
    const losses = model.history.map((round) => round.trainLoss);
    losses.slice(1).forEach((loss, i) => expect(loss).toBeLessThan(losses[i]));
    for (const row of predictTreeProbabilities(model, data.x.slice(0, 20))) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('fits a step function in regression with squared error', () => {
    const data = stepFunction(createRng(5), 200);
    const model = trainGradientBoosting(
      data.x,
      data.y,
      { task: 'regression', rounds: 60, learningRate: 0.3, maxLeaves: 2 },
      3,
    );
    expect(model.baseScore[0]).toBeCloseTo(data.y.reduce((a, b) => a + b, 0) / data.y.length, 12);
    const values = predictTreeValues(model, [
      [1, 5, 5],
      [3.5, 0, 9],
      [4.5, 2, 2],
      [9, 9, 9],
    ]);
    values.forEach((value, i) => expect(value).toBeCloseTo([1, 1, 3, 3][i], 4));
    expect(treeFeatureImportance(model)[0]).toBeGreaterThan(0.99);
    expect(model.history[59].trainLoss).toBeLessThan(1e-8);
  });

  it('ranks the informative features first by gain', () => {
    const data = noisyClasses(createRng(8), 500);
    const model = trainGradientBoosting(data.x, data.y, { task: 'classification', rounds: 10 }, 1);
    const [first, second, noise] = treeFeatureImportance(model);
    expect(first).toBeGreaterThan(second);
    expect(second).toBeGreaterThan(noise);
  });

  it('is deterministic under a seed; with feature subsampling another seed grows other trees', () => {
    const data = noisyClasses(createRng(6), 300);
    const params = { task: 'classification' as const, rounds: 5, featureFraction: 0.5 };
    const first = trainGradientBoosting(data.x, data.y, params, 11);
    expect(JSON.stringify(trainGradientBoosting(data.x, data.y, params, 11))).toBe(JSON.stringify(first));
    expect(JSON.stringify(trainGradientBoosting(data.x, data.y, params, 12).trees)).not.toBe(
      JSON.stringify(first.trees),
    );
  });

  it('records validation metrics per round and keeps the best round when it stops early', () => {
    const data = noisyClasses(createRng(7), 300);
    const validation = noisyClasses(createRng(70), 200);
    const model = trainGradientBoosting(
      data.x,
      data.y,
      { task: 'classification', rounds: 300, learningRate: 0.5, minSamplesLeaf: 2, earlyStoppingRounds: 5 },
      1,
      { validation },
    );
    const losses = model.history.map((round) => round.validationLoss as number);
    const best = losses.indexOf(Math.min(...losses));
    expect(model.history.length).toBeLessThan(300);
    expect(model.history.length).toBe(best + 1 + 5);
    expect(model.rounds).toBe(best + 1);
    expect(model.trees).toHaveLength(model.rounds * 3);
    const last = model.history[model.history.length - 1];
    expect(last).toEqual({
      round: model.history.length,
      trainLoss: expect.any(Number),
      validationLoss: expect.any(Number),
      validationAccuracy: expect.any(Number),
    });
    // The kept trees reproduce the best round's validation accuracy.
    const kept = accuracy(predictTreeProbabilities(model, validation.x), validation.y);
    expect(kept).toBeCloseTo(model.history[best].validationAccuracy as number, 12);
  });

  it('reports the validation MAE in regression and trains every round without early stopping', () => {
    const data = stepFunction(createRng(5), 100);
    const model = trainGradientBoosting(
      data.x,
      data.y,
      { task: 'regression', rounds: 8, earlyStoppingRounds: 0 },
      1,
      { validation: stepFunction(createRng(9), 50) },
    );
    expect(model.rounds).toBe(8);
    expect(Object.keys(model.history[7]).sort()).toEqual([
      'round',
      'trainLoss',
      'validationLoss',
      'validationMae',
    ]);
  });

  it('sizes the scores by classCount even when a class has no training row', () => {
    const model = trainGradientBoosting(train.x, train.y, { task: 'classification', rounds: 2 }, 1, {
      classCount: 4,
    });
    expect(model.treesPerRound).toBe(4);
    expect(model.baseScore[3]).toBeCloseTo(Math.log(1e-15), 6);
    expect(predictTreeProbabilities(model, test.x.slice(0, 1))[0]).toHaveLength(4);
  });

  it('rejects a validation split that does not match the training rows', () => {
    const run = (validation: { x: number[][]; y: number[] }) => () =>
      trainGradientBoosting(train.x, train.y, { task: 'classification', rounds: 2 }, 1, {
        validation,
        classCount: 3,
      });
    expect(run({ x: [[1, 2]], y: [0] })).toThrow(
      'trainGradientBoosting: validation: row 0 has 2 values, expected 4',
    );
    expect(run({ x: [[1, 2, 3, 4]], y: [5] })).toThrow(
      'trainGradientBoosting: validation: y[0] is 5, expected a class index in [0, 3)',
    );
    expect(run({ x: [], y: [] })).toThrow(/no rows; omit the validation split instead/);
  });
});
