import {
  predictTreeProbabilities,
  predictTreeValues,
  treeFeatureImportance,
  treeLeaf,
} from './predict-trees';
import { forestOf, stump } from '../../test/fixtures/tree-data';
import type { GradientBoostingModel } from './tree-model';
import { defaultGradientBoostingParams } from './tree-params';

/** x0 <= 0.1 (float32) goes left to leaf 1, else to leaf 2. */
const split = { feature: 0, threshold: Math.fround(0.1) };

const forest = forestOf([stump([1, 0], [0, 1], split), stump([0.5, 0.5], [0, 1], split)]);

describe('tree predictions', () => {
  it('compares values as float32, so a double just above a float32 threshold still goes left', () => {
    const tree = forest.trees[0];
    const leaf = (value: number) => treeLeaf(tree, Float32Array.of(value, 0));
    expect(leaf(0.1)).toBe(1);
    expect(leaf(Math.fround(0.1))).toBe(1);
    expect(leaf(0.100000001)).toBe(1);
    expect(leaf(0.1000001)).toBe(2);
    expect(leaf(Number.NaN)).toBe(2);
  });

  it('averages a forest’s leaf distributions', () => {
    expect(
      predictTreeProbabilities(forest, [
        [0, 0],
        [1, 0],
      ]),
    ).toEqual([
      [0.75, 0.25],
      [0, 1],
    ]);
  });

  it('adds a boosted ensemble’s leaves to its base score, per class, then applies softmax', () => {
    const model: GradientBoostingModel = {
      kind: 'gradient_boosting',
      task: 'classification',
      featureCount: 2,
      classCount: 2,
      params: defaultGradientBoostingParams('classification'),
      seed: 1,
      baseScore: [0.5, -0.5],
      treesPerRound: 2,
      rounds: 1,
      trees: [stump([1], [-1], split), stump([0], [2], split)],
      history: [],
    };
    const [row] = predictTreeProbabilities(model, [[0, 0]]);
    const expected = 1 / (1 + Math.exp(-0.5 - 1.5));
    expect(row[0]).toBeCloseTo(expected, 15);
    expect(row[1]).toBeCloseTo(1 - expected, 15);
    expect(() => predictTreeValues(model, [[0, 0]])).toThrow(
      'predictTreeValues: the model is a classification gradient boosting, not regression',
    );
  });

  it('checks the rows against the model’s features', () => {
    expect(() => predictTreeProbabilities(forest, [[1]])).toThrow(
      'predictTreeProbabilities: rows: row 0 has 1 values, expected 2',
    );
  });

  it('normalises the summed gains into importances', () => {
    const [first, second] = forest.trees;
    expect(treeFeatureImportance({ ...forest, trees: [first, { ...second, gain: [1, 2] }] })).toEqual([
      0.5, 0.5,
    ]);
    const bare = { ...forest, trees: [{ ...first, gain: [0, 0] }] };
    expect(treeFeatureImportance(bare)).toEqual([0, 0]);
  });
});
