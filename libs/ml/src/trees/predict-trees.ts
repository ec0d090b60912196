import type { Matrix } from '../util/matrix';
import { assertTreeRows } from './tree-data';
import type { DecisionTree, GradientBoostingModel, TreeEnsembleModel } from './tree-model';

/**
 * The leaf `row` ends in. Values are compared as float32, as the ONNX model receives them, so this and onnxruntime
 * take the same branch even for a value equal to a threshold.
 */
export function treeLeaf(tree: DecisionTree, row: Float32Array): number {
  let node = 0;
  let feature = tree.feature[0];
  while (feature >= 0) {
    node = row[feature] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
    feature = tree.feature[node];
  }
  return node;
}

/** Class probabilities of each row: a forest's mean leaf distribution, or softmax of a boosted ensemble's scores. */
export function predictTreeProbabilities(model: TreeEnsembleModel, rows: Matrix): number[][] {
  assertTask(model, 'classification', 'predictTreeProbabilities');
  return scoreRows(model, rows, 'predictTreeProbabilities').map((scores) =>
    model.kind === 'gradient_boosting' ? softmaxInPlace(scores) : scores,
  );
}

/** Predicted values of a regression ensemble, one per row. */
export function predictTreeValues(model: TreeEnsembleModel, rows: Matrix): number[] {
  assertTask(model, 'regression', 'predictTreeValues');
  return scoreRows(model, rows, 'predictTreeValues').map((scores) => scores[0]);
}

/** Each feature's share of the total split gain over all trees (zeros when no tree has a split). */
export function treeFeatureImportance(model: TreeEnsembleModel): number[] {
  const totals = new Array<number>(model.featureCount).fill(0);
  for (const tree of model.trees) tree.gain.forEach((gain, feature) => (totals[feature] += gain));
  const sum = totals.reduce((a, b) => a + b, 0);
  return totals.map((gain) => (sum > 0 ? gain / sum : 0));
}

/** Adds `tree`'s leaf values for `row` to scores[first...]: all of its outputs, or one (a boosted class tree). */
export function addTreeScores(
  tree: DecisionTree,
  outputs: number,
  row: Float32Array,
  scores: Float64Array | number[],
  first: number,
): void {
  const offset = treeLeaf(tree, row) * outputs;
  for (let k = 0; k < outputs; k++) scores[first + k] += tree.value[offset + k];
}

export function softmaxInPlace<T extends Float64Array | number[]>(
  scores: T,
  offset = 0,
  length = scores.length,
): T {
  let max = -Infinity;
  for (let k = offset; k < offset + length; k++) max = Math.max(max, scores[k]);
  let sum = 0;
  for (let k = offset; k < offset + length; k++) {
    scores[k] = Math.exp(scores[k] - max);
    sum += scores[k];
  }
  for (let k = offset; k < offset + length; k++) scores[k] /= sum;
  return scores;
}

/** Raw ensemble output per row: mean leaf values for a forest, base score + leaf sums for a boosted ensemble. */
function scoreRows(model: TreeEnsembleModel, rows: Matrix, what: string): number[][] {
  assertTreeRows(rows, `${what}: rows`, model.featureCount);
  const outputs = model.task === 'classification' ? model.classCount : 1;
  return rows.map((values) => {
    const row = Float32Array.from(values);
    if (model.kind === 'gradient_boosting') return boostedScores(model, row);
    const scores = new Array<number>(outputs).fill(0);
    for (const tree of model.trees) addTreeScores(tree, outputs, row, scores, 0);
    return scores.map((sum) => sum / model.trees.length);
  });
}

function boostedScores(model: GradientBoostingModel, row: Float32Array): number[] {
  const scores = [...model.baseScore];
  model.trees.forEach((tree, index) => addTreeScores(tree, 1, row, scores, index % model.treesPerRound));
  return scores;
}

function assertTask(model: TreeEnsembleModel, task: TreeEnsembleModel['task'], what: string): void {
  if (model.task !== task) {
    throw new Error(`${what}: the model is a ${model.task} ${model.kind.replace('_', ' ')}, not ${task}`);
  }
}
