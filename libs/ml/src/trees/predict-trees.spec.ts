import {
  predictTreeProbabilities,
  predictTreeValues,
  treeFeatureImportance,
  treeLeaf,
} from './predict-trees';
import type { DecisionTree, GradientBoostingModel, RandomForestModel } from './tree-model';
import { defaultGradientBoostingParams, defaultRandomForestParams } from './tree-params';

/** x0 <= 0.1 (float32) goes left to leaf 1, else to leaf 2. */
const stump = (left: number[], right: number[], outputs: number): DecisionTree => ({
  feature: [0, -1, -1],
  threshold: [Math.fround(0.1), 0, 0],
  left: [1, -1, -1],
  right: [2, -1, -1],
  value: [...new Array<number>(outputs).fill(0), ...left, ...right],
  gain: [3, 1],
});

const forest: RandomForestModel = {
  kind: 'random_forest',
  task: 'classification',
  featureCount: 2,
  classCount: 2,
  params: defaultRandomForestParams('classification'),
  seed: 1,
  treeIndices: [0, 1],
  trees: [stump([1, 0], [0, 1], 2), stump([0.5, 0.5], [0, 1], 2)],
};

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
      trees: [stump([1], [-1], 1), stump([0], [2], 1)],
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
    expect(treeFeatureImportance(forest)).toEqual([0.75, 0.25]);
    const bare = { ...forest, trees: [{ ...forest.trees[0], gain: [0, 0] }] };
    expect(treeFeatureImportance(bare)).toEqual([0, 0]);
  });
});
