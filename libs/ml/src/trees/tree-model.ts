import type { GradientBoostingParams, RandomForestParams, TreeTask } from './tree-params';

/**
 * One binary decision tree as flat, JSON-serialisable arrays indexed by node (the root is node 0).
 * A row goes to `left` when its feature value, rounded to float32 as the ONNX input is, is <= `threshold`.
 */
export interface DecisionTree {
  /** Feature compared at each node; -1 marks a leaf. */
  feature: number[];
  /** Split value of each node (exactly representable in float32); 0 on leaves. */
  threshold: number[];
  /** Child taken when the value is <= threshold; -1 on leaves. */
  left: number[];
  /** Child taken otherwise (and for NaN); -1 on leaves. */
  right: number[];
  /** `outputs` values per node (node-major), meaningful on leaves only; split nodes hold zeros. */
  value: number[];
  /** Total split gain per feature in this tree (the feature importance before normalisation). */
  gain: number[];
}

/** A forest: every tree votes with its leaf's class distribution (classification) or mean (regression). */
export interface RandomForestModel {
  kind: 'random_forest';
  task: TreeTask;
  featureCount: number;
  /** Classes for classification (leaves hold classCount probabilities), 1 for regression. */
  classCount: number;
  params: RandomForestParams;
  seed: number;
  /** The forest-wide index of each tree, ascending; a forest trained in parts keeps its trees' indices. */
  treeIndices: number[];
  trees: DecisionTree[];
}

/** One boosting round's metrics: the training loss and, with a validation split, the validation ones. */
export interface BoostingRoundMetrics {
  round: number;
  /** Log loss (classification) or mean squared error (regression) on the training rows. */
  trainLoss: number;
  validationLoss?: number;
  validationAccuracy?: number;
  validationMae?: number;
}

/**
 * A gradient-boosted ensemble: raw score = baseScore + the sum of its trees' leaves (the learning rate is already
 * applied to the leaves); classification has one tree per class per round and applies softmax to the scores.
 */
export interface GradientBoostingModel {
  kind: 'gradient_boosting';
  task: TreeTask;
  featureCount: number;
  classCount: number;
  params: GradientBoostingParams;
  seed: number;
  /** Raw score before any tree: log class priors (classification) or the mean target (regression). */
  baseScore: number[];
  /** Trees per round: classCount for classification, 1 for regression; tree i scores class i % treesPerRound. */
  treesPerRound: number;
  /** Rounds kept: the best validation round with early stopping, else every round trained. */
  rounds: number;
  trees: DecisionTree[];
  /** Metrics of every round trained, including those after the best one. */
  history: BoostingRoundMetrics[];
}

export type TreeEnsembleModel = RandomForestModel | GradientBoostingModel;
