import { LOG_LOSS_EPSILON } from '../metrics/log-loss';
import { createRng } from '../util/random';
import type { Matrix } from '../util/matrix';
import { addTreeScores, softmaxInPlace } from './predict-trees';
import {
  assertSeed,
  assertTreeRows,
  checkedClasses,
  checkedTargets,
  prepareTreeData,
  type LabelledRows,
  type TreeTrainingData,
} from './tree-data';
import { TreeGrower, type GrowTargets } from './tree-grower';
import type { BoostingRoundMetrics, DecisionTree, GradientBoostingModel } from './tree-model';
import {
  featuresPerSplit,
  resolveGradientBoostingParams,
  type GradientBoostingParamsInput,
  type TreeTask,
} from './tree-params';

export interface GradientBoostingOptions {
  /** Rows scored after every round; with params.earlyStoppingRounds > 0 they also decide when to stop. */
  validation?: LabelledRows;
  /** Classes of a classification task; defaults to the largest label + 1 (of the training and validation rows). */
  classCount?: number;
}

/** scikit-learn's min_hessian_to_split: a leaf needs at least this much curvature to get a Newton step. */
const MIN_HESSIAN = 1e-3;
/** A validation loss must improve by more than this to count as better (scikit-learn's tol). */
const EARLY_STOPPING_TOLERANCE = 1e-7;

const WHAT = 'trainGradientBoosting';

/**
 * Trains a histogram-based gradient-boosted tree ensemble: Newton steps on binned features, softmax cross-entropy
 * with one tree per class and round (classification) or squared error (regression), leaves shrunk by the learning
 * rate. With a validation split it records the validation loss per round and keeps the best round's trees.
 */
export function trainGradientBoosting(
  x: Matrix,
  y: readonly number[],
  params: GradientBoostingParamsInput,
  seed: number,
  options: GradientBoostingOptions = {},
): GradientBoostingModel {
  const resolved = resolveGradientBoostingParams(params);
  assertSeed(seed, WHAT);
  const { task } = resolved;
  const validation = options.validation;
  const classCount =
    task === 'classification'
      ? (options.classCount ?? largestLabel([y, validation?.y ?? []]) + 1)
      : undefined;
  const data = prepareTreeData({ x, y }, task, resolved.maxBins, classCount, WHAT);
  const scorer = new BoostingScorer(task, data, baseScoreOf(task, data));
  const validationScorer = validation ? validationScorerOf(validation, task, data, scorer.baseScore) : null;
  const grower = new TreeGrower(data.binned, data.bins, 1, {
    maxDepth: resolved.maxDepth ?? Infinity,
    maxLeaves: resolved.maxLeaves,
    minSamplesLeaf: resolved.minSamplesLeaf,
    minDenominator: MIN_HESSIAN,
    l2: resolved.l2,
    featuresPerSplit: featuresPerSplit(resolved.featureFraction, data.featureCount),
  });
  const rng = createRng(seed);
  const rows = Uint32Array.from({ length: data.rowCount }, (_, i) => i);
  const trees: DecisionTree[] = [];
  const history: BoostingRoundMetrics[] = [];
  const stopping = validationScorer !== null && resolved.earlyStoppingRounds > 0;
  let best = { loss: Infinity, rounds: 0 };
  for (let round = 1; round <= resolved.rounds; round++) {
    scorer.prepareRound();
    for (let k = 0; k < scorer.outputs; k++) {
      const grown = grower.grow(rows, scorer.targets(k), rng, true);
      const tree = {
        ...grown.tree,
        value: grown.tree.value.map((v) => Math.fround(v * resolved.learningRate)),
      };
      scorer.addLeaves(k, tree, grown.leafOfRow as Int32Array);
      validationScorer?.addTree(k, tree);
      trees.push(tree);
    }
    const metrics: BoostingRoundMetrics = { round, trainLoss: scorer.loss() };
    if (validationScorer) Object.assign(metrics, validationScorer.metrics());
    history.push(metrics);
    if (!stopping) continue;
    const loss = metrics.validationLoss as number;
    if (loss < best.loss - EARLY_STOPPING_TOLERANCE) best = { loss, rounds: round };
    else if (round - best.rounds >= resolved.earlyStoppingRounds) break;
  }
  const rounds = stopping ? best.rounds : history.length;
  return {
    kind: 'gradient_boosting',
    task,
    featureCount: data.featureCount,
    classCount: data.classCount,
    params: resolved,
    seed,
    baseScore: scorer.baseScore,
    treesPerRound: scorer.outputs,
    rounds,
    trees: trees.slice(0, rounds * scorer.outputs),
    history,
  };
}

function largestLabel(labelSets: readonly (readonly number[])[]): number {
  let largest = 0;
  for (const labels of labelSets) for (const label of labels) largest = Math.max(largest, label);
  return largest;
}

/** Log class priors (an absent class gets log 1e-15) or the mean target. */
function baseScoreOf(task: TreeTask, data: TreeTrainingData): number[] {
  if (task === 'regression') return [data.targets.reduce((a, b) => a + b, 0) / data.rowCount];
  const counts = new Array<number>(data.classCount).fill(0);
  data.classes.forEach((label) => counts[label]++);
  return counts.map((count) => Math.log(Math.max(count / data.rowCount, LOG_LOSS_EPSILON)));
}

/** The raw scores of a set of rows as trees are added, with its loss under the task's objective. */
class BoostingScorer {
  readonly outputs: number;
  protected readonly raw: Float64Array;
  private readonly probabilities: Float64Array;
  private readonly sums: Float64Array;
  private readonly hessians: Float64Array;
  /** Every row's sum goes to the single channel of a boosted tree. */
  private readonly channelOf: Int32Array;

  constructor(
    protected readonly task: TreeTask,
    protected readonly data: Pick<TreeTrainingData, 'rowCount' | 'classCount' | 'classes' | 'targets'>,
    readonly baseScore: number[],
  ) {
    this.outputs = baseScore.length;
    const size = data.rowCount * this.outputs;
    this.raw = new Float64Array(size);
    for (let i = 0; i < size; i++) this.raw[i] = baseScore[i % this.outputs];
    this.probabilities = new Float64Array(task === 'classification' ? size : 0);
    this.sums = new Float64Array(data.rowCount);
    this.hessians = new Float64Array(data.rowCount).fill(1);
    this.channelOf = new Int32Array(data.rowCount);
  }

  /** Takes the probabilities every class's tree of this round fits against. */
  prepareRound(): void {
    if (this.task === 'regression') return;
    this.probabilities.set(this.raw);
    for (let row = 0; row < this.data.rowCount; row++) {
      softmaxInPlace(this.probabilities, row * this.outputs, this.outputs);
    }
  }

  /** Negative gradients and hessians of output k for the next tree. */
  targets(k: number): GrowTargets {
    const { outputs, sums, hessians } = this;
    for (let row = 0; row < this.data.rowCount; row++) {
      if (this.task === 'regression') {
        sums[row] = this.data.targets[row] - this.raw[row];
      } else {
        const p = this.probabilities[row * outputs + k];
        sums[row] = (this.data.classes[row] === k ? 1 : 0) - p;
        hessians[row] = p * (1 - p);
      }
    }
    return { channelOf: this.channelOf, sums, denominators: hessians };
  }

  addLeaves(k: number, tree: DecisionTree, leafOfRow: Int32Array): void {
    for (let row = 0; row < this.data.rowCount; row++) {
      this.raw[row * this.outputs + k] += tree.value[leafOfRow[row]];
    }
  }

  /** Mean log loss or mean squared error of the current scores. */
  loss(): number {
    let total = 0;
    const scores = new Float64Array(this.outputs);
    for (let row = 0; row < this.data.rowCount; row++) {
      const offset = row * this.outputs;
      if (this.task === 'regression') {
        total += (this.raw[offset] - this.data.targets[row]) ** 2;
      } else {
        scores.set(this.raw.subarray(offset, offset + this.outputs));
        const p = softmaxInPlace(scores)[this.data.classes[row]];
        total -= Math.log(Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON));
      }
    }
    return total / this.data.rowCount;
  }
}

/** Scores the validation rows tree by tree, by walking each new tree. */
class ValidationScorer extends BoostingScorer {
  constructor(
    private readonly rows: Float32Array[],
    task: TreeTask,
    data: Pick<TreeTrainingData, 'rowCount' | 'classCount' | 'classes' | 'targets'>,
    baseScore: number[],
  ) {
    super(task, data, baseScore);
  }

  addTree(k: number, tree: DecisionTree): void {
    this.rows.forEach((row, index) => addTreeScores(tree, 1, row, this.raw, index * this.outputs + k));
  }

  metrics(): Pick<BoostingRoundMetrics, 'validationLoss' | 'validationAccuracy' | 'validationMae'> {
    const validationLoss = this.loss();
    let hits = 0;
    let absoluteError = 0;
    for (let row = 0; row < this.data.rowCount; row++) {
      const offset = row * this.outputs;
      if (this.task === 'regression') {
        absoluteError += Math.abs(this.raw[offset] - this.data.targets[row]);
        continue;
      }
      let predicted = 0;
      for (let k = 1; k < this.outputs; k++)
        if (this.raw[offset + k] > this.raw[offset + predicted]) predicted = k;
      if (predicted === this.data.classes[row]) hits++;
    }
    return this.task === 'regression'
      ? { validationLoss, validationMae: absoluteError / this.data.rowCount }
      : { validationLoss, validationAccuracy: hits / this.data.rowCount };
  }
}

function validationScorerOf(
  validation: LabelledRows,
  task: TreeTask,
  data: TreeTrainingData,
  baseScore: number[],
): ValidationScorer {
  const what = `${WHAT}: validation`;
  if (validation.x.length === 0) throw new Error(`${what}: no rows; omit the validation split instead`);
  assertTreeRows(validation.x, what, data.featureCount);
  const rowCount = validation.x.length;
  const labels =
    task === 'classification'
      ? {
          classes: checkedClasses(validation.y, rowCount, data.classCount, what).indices,
          targets: new Float64Array(0),
        }
      : { classes: new Int32Array(0), targets: checkedTargets(validation.y, rowCount, what) };
  const rows = validation.x.map((row) => Float32Array.from(row));
  return new ValidationScorer(rows, task, { rowCount, classCount: data.classCount, ...labels }, baseScore);
}
