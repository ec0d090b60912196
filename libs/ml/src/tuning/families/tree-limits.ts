import {
  overLimitMessage,
  trainingLimitProblems,
  type DataShape,
  type TrainingLimits,
} from '../training-limits';
import type { GbdtTrial } from './boosting';
import { cnnLimitProblems, type CnnTrial } from './cnn';
import type { DenseTrial } from './dense';
import type { ForestTrial } from './forest';
import type { TrialParams } from './trial';

/** The tree sizes a job may ask for (TRAIN_MAX_* variables), beside the dense ones. */
export interface TreeLimits {
  /** Trees of one forest. */
  maxTrees: number;
  /** Boosting rounds of one ensemble. */
  maxRounds: number;
  /** maxDepth of a tree (0, no limit, is bounded by the rows: see maxTreeRows). */
  maxTreeDepth: number;
  maxLeaves: number;
  /** Training rows × trees grown in one trial (a boosted classifier grows one tree per class per round). */
  maxTreeRows: number;
}

export const DEFAULT_TREE_LIMITS: Readonly<TreeLimits> = Object.freeze({
  maxTrees: 1000,
  maxRounds: 2000,
  maxTreeDepth: 32,
  maxLeaves: 1024,
  maxTreeRows: 50_000_000,
});

export const TREE_LIMIT_VARIABLES: Record<keyof TreeLimits, string> = {
  maxTrees: 'TRAIN_MAX_TREES',
  maxRounds: 'TRAIN_MAX_ROUNDS',
  maxTreeDepth: 'TRAIN_MAX_TREE_DEPTH',
  maxLeaves: 'TRAIN_MAX_LEAVES',
  maxTreeRows: 'TRAIN_MAX_TREE_ROWS',
};

/** Trees a trial grows at most: a forest's trees, or rounds × (classes, or 1 for two classes' softmax too). */
export function treesGrown(trial: ForestTrial | GbdtTrial, classes: number): number {
  return trial.model === 'forest' ? trial.trees : trial.rounds * Math.max(1, classes);
}

/**
 * Every limit the trials exceed (one message per limit, at the first trial over it), naming the limit, its variable
 * and the value asked for: the dense limits for dense trials (epochs, batch size and rows × epochs for a CNN), the
 * tree limits for the others.
 */
export function trialLimitProblems(
  trials: readonly TrialParams[],
  limits: TrainingLimits & TreeLimits,
  shape?: DataShape,
): string[] {
  const dense = trials.filter((trial): trial is DenseTrial => trial.model === 'dense');
  const trees = trials.filter(
    (trial): trial is ForestTrial | GbdtTrial => trial.model === 'forest' || trial.model === 'gbdt',
  );
  const cnn = trials.filter((trial): trial is CnnTrial => trial.model === 'cnn');
  const problems: string[] = [];
  if (trials.length > limits.maxTrials) {
    problems.push(overLimitMessage(limits, 'maxTrials', `a grid of ${trials.length} trials`));
  }
  if (dense.length > 0) {
    problems.push(...trainingLimitProblems(dense, { ...limits, maxTrials: Number.POSITIVE_INFINITY }, shape));
  }
  if (cnn.length > 0) problems.push(...cnnLimitProblems(cnn, limits, shape));
  const over = (limit: keyof TreeLimits, asked: string) =>
    `${asked} is over the limit of ${limits[limit]} (${TREE_LIMIT_VARIABLES[limit]})`;
  const checks: [keyof TreeLimits, (t: ForestTrial | GbdtTrial) => number, (v: number) => string][] = [
    ['maxTrees', (t) => (t.model === 'forest' ? t.trees : 0), (v) => `trees ${v}`],
    ['maxRounds', (t) => (t.model === 'gbdt' ? t.rounds : 0), (v) => `rounds ${v}`],
    ['maxTreeDepth', (t) => t.maxDepth, (v) => `maxDepth ${v}`],
    ['maxLeaves', (t) => (t.model === 'gbdt' ? t.maxLeaves : 0), (v) => `maxLeaves ${v}`],
  ];
  if (shape) {
    checks.push([
      'maxTreeRows',
      (t) => shape.rows * treesGrown(t, shape.classes),
      (v) => `${shape.rows} rows × trees grown = ${v}`,
    ]);
  }
  for (const [limit, measure, describe] of checks) {
    const first = trees.find((trial) => measure(trial) > limits[limit]);
    if (first) problems.push(over(limit, describe(measure(first))));
  }
  return problems;
}
