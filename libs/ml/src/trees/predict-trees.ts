import type { Matrix } from '../util/matrix';
import { assertTreeRows } from './tree-data';
import type { DecisionTree, TreeEnsembleModel } from './tree-model';

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

/**
 * Raw ensemble output per row: mean leaf values for a forest, base score + leaf sums for a boosted ensemble. Tree by
 * tree over every row, so one tree's arrays stay in the cache while the rows walk it (row by row over every tree took
 * five times as long: 408 ms against 82 ms for 1,764 rows through a 300-tree forest of Wine white).
 */
function scoreRows(model: TreeEnsembleModel, rows: Matrix, what: string): number[][] {
  assertTreeRows(rows, `${what}: rows`, model.featureCount);
  const outputs = model.task === 'classification' ? model.classCount : 1;
  const floats = rows.map((values) => Float32Array.from(values));
  const scores = new Float64Array(rows.length * outputs);
  const boosted = model.kind === 'gradient_boosting';
  if (boosted) for (let i = 0; i < scores.length; i++) scores[i] = model.baseScore[i % outputs];
  model.trees.forEach((tree, index) => {
    // A boosted round has one tree per class, each adding to its class's score; a forest's tree adds to them all.
    const first = boosted ? index % model.treesPerRound : 0;
    const width = boosted ? 1 : outputs;
    for (let r = 0; r < floats.length; r++)
      addTreeScores(tree, width, floats[r], scores, r * outputs + first);
  });
  const scale = boosted ? 1 : 1 / model.trees.length;
  return floats.map((_, r) =>
    Array.from(scores.subarray(r * outputs, (r + 1) * outputs), (sum) => sum * scale),
  );
}

function assertTask(model: TreeEnsembleModel, task: TreeEnsembleModel['task'], what: string): void {
  if (model.task !== task) {
    throw new Error(`${what}: the model is a ${model.task} ${model.kind.replace('_', ' ')}, not ${task}`);
  }
}
