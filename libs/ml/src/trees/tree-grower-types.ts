/** What TreeGrower grows from (targets, limits) and what it returns. */
import type { DecisionTree } from './tree-model';

/**
 * What a tree fits, per row: a sum added to one channel, and a denominator. Gini: the row's weight in its class's
 * channel, and the weight again; variance: w*y and w; Newton boosting: -gradient and hessian (one channel). A node's
 * score is the sum over channels of S^2 / (D + l2), and a split's gain is the children's scores minus the parent's.
 */
export interface GrowTargets {
  /** The channel of each row's sum: its class, or 0 with a single channel. */
  channelOf: Int32Array;
  sums: Float64Array;
  denominators: Float64Array;
}

export interface GrowLimits {
  /** Deepest split level; Infinity for none. */
  maxDepth: number;
  maxLeaves: number;
  /** Fewest rows in a leaf. */
  minSamplesLeaf: number;
  /** Smallest denominator sum (weight or hessian) in a leaf. */
  minDenominator: number;
  l2: number;
  featuresPerSplit: number;
}

export interface GrownTree {
  /** Leaf values are S / (D + l2) per channel: class probabilities, a mean, or a Newton step. */
  tree: DecisionTree;
  /** With `recordLeaves`, the leaf each sampled row ended in, indexed by row (-1 for rows outside the sample). */
  leafOfRow: Int32Array | null;
}
