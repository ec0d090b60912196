import { createRng, deriveSeed } from '../util/random';
import type { Matrix } from '../util/matrix';
import { assertSeed, prepareTreeData, type TreeTrainingData } from './tree-data';
import { TreeGrower, type GrowTargets } from './tree-grower';
import type { DecisionTree, RandomForestModel } from './tree-model';
import {
  featuresPerSplit,
  resolveRandomForestParams,
  type ClassWeight,
  type RandomForestParamsInput,
  type TreeTask,
} from './tree-params';

export interface RandomForestOptions {
  /**
   * Grow only these trees of the forest (indices in [0, params.trees)); each tree depends only on the seed and its
   * index, so forests grown in parts and merged with mergeRandomForests equal the forest grown at once.
   */
  treeIndices?: readonly number[];
  /** Classes of a classification task; defaults to the largest label + 1. */
  classCount?: number;
}

/**
 * Trains a random forest (Breiman): each tree on a bootstrap sample, choosing each split among a random subset of
 * the features, by Gini impurity (classification) or variance (regression), on quantile-binned features.
 */
export function trainRandomForest(
  x: Matrix,
  y: readonly number[],
  params: RandomForestParamsInput,
  seed: number,
  options: RandomForestOptions = {},
): RandomForestModel {
  const resolved = resolveRandomForestParams(params);
  const treeIndices = checkedTreeIndices(options.treeIndices, resolved.trees);
  assertSeed(seed, 'trainRandomForest');
  const data = prepareTreeData(
    { x, y },
    resolved.task,
    resolved.maxBins,
    options.classCount,
    'trainRandomForest',
  );
  const grower = new TreeGrower(data.binned, data.bins, data.classCount, {
    maxDepth: resolved.maxDepth ?? Infinity,
    maxLeaves: Infinity,
    minSamplesLeaf: resolved.minSamplesLeaf,
    minDenominator: 0,
    l2: 0,
    featuresPerSplit: featuresPerSplit(resolved.featureFraction, data.featureCount),
  });
  const classWeights = classWeightsOf(data, resolved.classWeight);
  const trees = treeIndices.map((index) => {
    const rng = createRng(deriveSeed(seed, index));
    const weights = resolved.bootstrap
      ? bootstrapWeights(data.rowCount, rng)
      : new Float64Array(data.rowCount).fill(1);
    const rows = sampledRows(weights);
    return grower.grow(rows, forestTargets(data, resolved.task, weights, classWeights), rng).tree;
  });
  return {
    kind: 'random_forest',
    task: resolved.task,
    featureCount: data.featureCount,
    classCount: data.classCount,
    params: resolved,
    seed,
    treeIndices,
    trees,
  };
}

/** Joins forests grown in parts from the same data, parameters and seed into one, its trees in index order. */
export function mergeRandomForests(parts: readonly RandomForestModel[]): RandomForestModel {
  if (parts.length === 0) throw new Error('mergeRandomForests: no forests to merge');
  const [first] = parts;
  const signature = forestSignature(first);
  const byIndex = new Map<number, DecisionTree>();
  for (const part of parts) {
    if (forestSignature(part) !== signature) {
      throw new Error(
        'mergeRandomForests: the parts differ in task, features, classes, parameters or seed; merge only parts of one forest',
      );
    }
    part.treeIndices.forEach((index, position) => {
      if (byIndex.has(index)) throw new Error(`mergeRandomForests: tree ${index} is in more than one part`);
      byIndex.set(index, part.trees[position]);
    });
  }
  const treeIndices = [...byIndex.keys()].sort((a, b) => a - b);
  return { ...first, treeIndices, trees: treeIndices.map((index) => byIndex.get(index) as DecisionTree) };
}

/** Splits a forest's tree indices into at most `parts` contiguous, near-equal, non-empty groups. */
export function partitionTreeIndices(trees: number, parts: number): number[][] {
  if (!Number.isInteger(trees) || trees < 1 || !Number.isInteger(parts) || parts < 1) {
    throw new Error(
      `partitionTreeIndices: expected whole numbers >= 1, got ${trees} trees and ${parts} parts`,
    );
  }
  const count = Math.min(trees, parts);
  return Array.from({ length: count }, (_, part) => {
    const start = Math.floor((part * trees) / count);
    const end = Math.floor(((part + 1) * trees) / count);
    return Array.from({ length: end - start }, (_, i) => start + i);
  });
}

function checkedTreeIndices(indices: readonly number[] | undefined, trees: number): number[] {
  if (indices === undefined) return Array.from({ length: trees }, (_, i) => i);
  if (indices.length === 0)
    throw new Error('trainRandomForest: treeIndices is empty; give at least one tree');
  const sorted = [...indices].sort((a, b) => a - b);
  sorted.forEach((index, position) => {
    if (!Number.isInteger(index) || index < 0 || index >= trees) {
      throw new Error(`trainRandomForest: tree index ${index} is not in [0, ${trees})`);
    }
    if (position > 0 && sorted[position - 1] === index) {
      throw new Error(`trainRandomForest: tree index ${index} is given twice`);
    }
  });
  return sorted;
}

/** How many times each row is drawn in a sample of rowCount draws with replacement. */
function bootstrapWeights(rowCount: number, rng: () => number): Float64Array {
  const weights = new Float64Array(rowCount);
  for (let draw = 0; draw < rowCount; draw++) weights[Math.floor(rng() * rowCount)] += 1;
  return weights;
}

function sampledRows(weights: Float64Array): Uint32Array {
  const rows: number[] = [];
  weights.forEach((weight, row) => {
    if (weight > 0) rows.push(row);
  });
  return Uint32Array.from(rows);
}

/** Per class, the weight of its rows: 1 each, or scikit-learn's balanced rows / (classes x rows of the class). */
export function classWeightsOf(
  data: Pick<TreeTrainingData, 'rowCount' | 'classCount' | 'classes'>,
  classWeight: ClassWeight,
): Float64Array {
  const weights = new Float64Array(data.classCount).fill(1);
  if (classWeight === 'none') return weights;
  const counts = new Float64Array(data.classCount);
  data.classes.forEach((label) => counts[label]++);
  counts.forEach((count, label) => {
    weights[label] = count > 0 ? data.rowCount / (data.classCount * count) : 0;
  });
  return weights;
}

function forestTargets(
  data: TreeTrainingData,
  task: TreeTask,
  weights: Float64Array,
  classWeights: Float64Array,
): GrowTargets {
  if (task === 'classification') {
    const weighted = classWeights.every((weight) => weight === 1)
      ? weights
      : weights.map((weight, row) => weight * classWeights[data.classes[row]]);
    return { channelOf: data.classes, sums: weighted, denominators: weighted };
  }
  const sums = data.targets.map((target, row) => target * weights[row]);
  return { channelOf: new Int32Array(data.rowCount), sums, denominators: weights };
}

function forestSignature(forest: RandomForestModel): string {
  const { task, featureCount, classCount, params, seed } = forest;
  return JSON.stringify([task, featureCount, classCount, params, seed]);
}
