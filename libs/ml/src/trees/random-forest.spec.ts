import { accuracy, noisyClasses, separableClasses, stepFunction } from '../../test/fixtures/tree-data';
import { createRng } from '../util/random';
import { predictTreeProbabilities, predictTreeValues, treeFeatureImportance } from './predict-trees';
import { classWeightsOf, mergeRandomForests, partitionTreeIndices, trainRandomForest } from './random-forest';
import type { RandomForestModel } from './tree-model';
import { treeEnsembleProblems } from './validate-tree-model';

describe('trainRandomForest', () => {
  const train = separableClasses(createRng(1), 300);
  const test = separableClasses(createRng(2), 200);

  it('classifies a perfectly separable set without error, on training and new rows', () => {
    const forest = trainRandomForest(train.x, train.y, { task: 'classification', trees: 25 }, 7);
    expect(forest.classCount).toBe(3);
    expect(accuracy(predictTreeProbabilities(forest, train.x), train.y)).toBe(1);
    expect(accuracy(predictTreeProbabilities(forest, test.x), test.y)).toBe(1);
    expect(treeEnsembleProblems(forest)).toEqual([]);
  });

  it('returns class distributions that sum to 1', () => {
    const data = noisyClasses(createRng(4), 300);
    const forest = trainRandomForest(data.x, data.y, { task: 'classification', trees: 10 }, 1);
    for (const row of predictTreeProbabilities(forest, data.x.slice(0, 50))) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('ranks the informative feature first by gain', () => {
    const forest = trainRandomForest(train.x, train.y, { task: 'classification', trees: 25 }, 7);
    const importance = treeFeatureImportance(forest);
    expect(importance.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(importance.indexOf(Math.max(...importance))).toBe(0);
    expect(importance[0]).toBeGreaterThan(0.5);
  });

  it('fits a step function in regression: values on either side of the step exactly', () => {
    const data = stepFunction(createRng(5), 200);
    const forest = trainRandomForest(data.x, data.y, { task: 'regression', trees: 20 }, 3);
    const values = predictTreeValues(forest, [
      [1, 5, 5],
      [3.5, 0, 9],
      [4.5, 2, 2],
      [9, 9, 9],
    ]);
    expect(values).toEqual([1, 1, 3, 3]);
    expect(treeFeatureImportance(forest)[0]).toBeGreaterThan(0.99);
  });

  it("weighs classes as scikit-learn's class_weight='balanced': rows / (classes x rows of the class)", () => {
    const data = { rowCount: 8, classCount: 3, classes: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1]) };
    expect(Array.from(classWeightsOf(data, 'balanced'))).toEqual([8 / 18, 8 / 6, 0]);
    expect(Array.from(classWeightsOf(data, 'none'))).toEqual([1, 1, 1]);
  });

  it('balanced class weights move a leaf of mixed rows towards the rare class (seed 3)', () => {
    // One feature that cannot separate: 90 rows of class 0, 10 of class 1, all alike.
    const x = Array.from({ length: 100 }, () => [1]);
    const y = Array.from({ length: 100 }, (_, i) => (i < 90 ? 0 : 1));
    const params = { task: 'classification' as const, trees: 1, bootstrap: false };
    const plain = trainRandomForest(x, y, params, 3);
    const balanced = trainRandomForest(x, y, { ...params, classWeight: 'balanced' }, 3);
    const [q0, q1] = predictTreeProbabilities(plain, [[1]])[0];
    expect([q0, q1].map((p) => p.toFixed(6))).toEqual(['0.900000', '0.100000']);
    const [p0, p1] = predictTreeProbabilities(balanced, [[1]])[0];
    expect(p0).toBeCloseTo(0.5, 6);
    expect(p1).toBeCloseTo(0.5, 6);
    expect(treeEnsembleProblems(balanced)).toEqual([]);
  });

  it('is deterministic under a seed and differs with another seed', () => {
    const params = { task: 'classification' as const, trees: 5 };
    const first = trainRandomForest(train.x, train.y, params, 11);
    const again = trainRandomForest(train.x, train.y, params, 11);
    const other = trainRandomForest(train.x, train.y, params, 12);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(JSON.stringify(other.trees)).not.toBe(JSON.stringify(first.trees));
  });

  it('grows the same forest in parts: trees by index, merged in any order', () => {
    const params = { task: 'classification' as const, trees: 6 };
    const whole = trainRandomForest(train.x, train.y, params, 5);
    const parts = partitionTreeIndices(6, 4).map((treeIndices) =>
      trainRandomForest(train.x, train.y, params, 5, { treeIndices }),
    );
    expect(parts.map((part) => part.treeIndices)).toEqual([[0], [1, 2], [3], [4, 5]]);
    expect(mergeRandomForests([...parts].reverse())).toEqual(whole);
    const shuffled = trainRandomForest(train.x, train.y, params, 5, { treeIndices: [5, 0] });
    expect(shuffled.treeIndices).toEqual([0, 5]);
    expect(shuffled.trees).toEqual([whole.trees[0], whole.trees[5]]);
  });

  it('survives a JSON round trip, as models crossing a worker thread or stored do', () => {
    const forest = trainRandomForest(train.x, train.y, { task: 'classification', trees: 3 }, 2);
    const restored = JSON.parse(JSON.stringify(forest)) as RandomForestModel;
    expect(restored).toEqual(forest);
    expect(predictTreeProbabilities(restored, test.x)).toEqual(predictTreeProbabilities(forest, test.x));
  });

  it.each(['classification', 'regression'] as const)(
    'splits the root where an exhaustive search finds the best gain (%s)',
    (task) => {
      const rng = createRng(9);
      const x = Array.from({ length: 60 }, () => [0, 1, 2].map(() => Math.floor(rng() * 10)));
      const y = x.map((row) => (row[1] + (rng() < 0.3 ? 1 : 0)) % 3);
      const forest = trainRandomForest(
        x,
        y,
        { task, trees: 1, bootstrap: false, featureFraction: 1, maxDepth: 1 },
        1,
      );
      const [tree] = forest.trees;
      const best = exhaustiveBestGain(x, y, task);
      const feature = tree.feature[0];
      expect(tree.gain[feature]).toBeCloseTo(best, 9);
      expect(splitGain(x, y, task, feature, tree.threshold[0])).toBeCloseTo(best, 9);
      expect(tree.feature.filter((f) => f >= 0)).toHaveLength(1);
    },
  );

  it('stops at maxDepth and keeps minSamplesLeaf rows in every leaf', () => {
    const data = noisyClasses(createRng(6), 400);
    const forest = trainRandomForest(
      data.x,
      data.y,
      { task: 'classification', trees: 3, maxDepth: 3, minSamplesLeaf: 10, bootstrap: false },
      1,
    );
    for (const tree of forest.trees) {
      expect(depthOf(tree.left, tree.right)).toBeLessThanOrEqual(3);
      const leafRows = new Map<number, number>();
      for (const row of data.x) {
        let node = 0;
        while (tree.feature[node] >= 0) {
          node =
            Math.fround(row[tree.feature[node]]) <= tree.threshold[node] ? tree.left[node] : tree.right[node];
        }
        leafRows.set(node, (leafRows.get(node) ?? 0) + 1);
      }
      expect(Math.min(...leafRows.values())).toBeGreaterThanOrEqual(10);
    }
  });

  it('rejects bad labels, rows and tree indices with what is wrong', () => {
    const task = 'classification' as const;
    expect(() => trainRandomForest([[1], [2]], [0, 3], { task }, 1, { classCount: 2 })).toThrow(
      'trainRandomForest: y[1] is 3, expected a class index in [0, 2)',
    );
    expect(() => trainRandomForest([[1], [2]], [0, 0], { task }, 1)).toThrow(
      'trainRandomForest: classification needs between 2 and 255 classes, got 1',
    );
    expect(() => trainRandomForest([[1], [Number.NaN]], [0, 1], { task }, 1)).toThrow(
      'trainRandomForest: row 1, column 0 is not a finite number (NaN)',
    );
    expect(() => trainRandomForest([[1], [1e39]], [0, 1], { task }, 1)).toThrow(/beyond the float32 range/);
    expect(() => trainRandomForest([[1], [2]], [0], { task }, 1)).toThrow(
      'trainRandomForest: 2 rows but 1 labels',
    );
    expect(() => trainRandomForest([[1], [2]], [0, 1], { task, trees: 3 }, 1, { treeIndices: [3] })).toThrow(
      'trainRandomForest: tree index 3 is not in [0, 3)',
    );
    expect(() =>
      trainRandomForest([[1], [2]], [0, 1], { task, trees: 3 }, 1, { treeIndices: [1, 1] }),
    ).toThrow('trainRandomForest: tree index 1 is given twice');
    expect(() => trainRandomForest([[1], [2]], [0, 1], { task }, Number.NaN)).toThrow(
      'trainRandomForest: the seed must be a finite number, got NaN',
    );
  });
});

describe('mergeRandomForests', () => {
  const data = separableClasses(createRng(3), 50);
  const part = (seed: number, treeIndices: number[]) =>
    trainRandomForest(data.x, data.y, { task: 'classification', trees: 4 }, seed, { treeIndices });

  it('refuses a tree given twice and parts of different forests', () => {
    expect(() => mergeRandomForests([part(1, [0, 1]), part(1, [1, 2])])).toThrow(
      'mergeRandomForests: tree 1 is in more than one part',
    );
    expect(() => mergeRandomForests([part(1, [0]), part(2, [1])])).toThrow(/merge only parts of one forest/);
    expect(() => mergeRandomForests([])).toThrow('mergeRandomForests: no forests to merge');
  });
});

describe('partitionTreeIndices', () => {
  it('covers every tree once in at most `parts` non-empty groups', () => {
    expect(partitionTreeIndices(5, 2)).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
    expect(partitionTreeIndices(2, 4)).toEqual([[0], [1]]);
    expect(() => partitionTreeIndices(0, 2)).toThrow(/expected whole numbers >= 1/);
  });
});

function depthOf(left: number[], right: number[], node = 0): number {
  if (left[node] < 0) return 0;
  return 1 + Math.max(depthOf(left, right, left[node]), depthOf(left, right, right[node]));
}

/** Sum over channels of S^2 / n: Gini's weighted purity for one-hot classes, or minus the SSE up to a constant. */
function score(ys: number[], task: 'classification' | 'regression'): number {
  if (ys.length === 0) return 0;
  if (task === 'regression') return ys.reduce((a, b) => a + b, 0) ** 2 / ys.length;
  const counts = new Map<number, number>();
  ys.forEach((label) => counts.set(label, (counts.get(label) ?? 0) + 1));
  return [...counts.values()].reduce((sum, count) => sum + count * count, 0) / ys.length;
}

function splitGain(
  x: number[][],
  y: number[],
  task: 'classification' | 'regression',
  feature: number,
  threshold: number,
): number {
  const left = y.filter((_, i) => x[i][feature] <= threshold);
  const right = y.filter((_, i) => x[i][feature] > threshold);
  return score(left, task) + score(right, task) - score(y, task);
}

function exhaustiveBestGain(x: number[][], y: number[], task: 'classification' | 'regression'): number {
  let best = 0;
  for (let feature = 0; feature < x[0].length; feature++) {
    for (const threshold of new Set(x.map((row) => row[feature]))) {
      best = Math.max(best, splitGain(x, y, task, feature, threshold));
    }
  }
  return best;
}
