import type {
  CnnClassifierSpec,
  CnnParams,
  ForestTrialParams,
  GbdtTrialParams,
  ImageShape,
  PackedTrees,
  TreeEnsembleModel,
} from '@sepal/ml';
import type { DenseTrialSpec } from '../training/dense-classifier';
import type { DenseClassifierTrainingInput, EpochMetrics } from '../training/training-input';
import type { BackendName, BackendPreference } from '../training/tf-backend';

/**
 * The rows a tree trial trains on (encoded for trees: imputed, one-hot, on the raw scale) and their targets: plain
 * data, for any transport.
 */
export interface TrialData {
  /** 'classification' when absent; a regression's `labels` are empty. */
  task?: 'classification' | 'regression';
  xTrain: number[][];
  /** Class indices into `labels`, or target values (regression). */
  yTrain: number[];
  xVal: number[][];
  yVal: number[];
  labels: string[];
  featureNames: string[];
  seed: number;
  /** Rows whose probabilities (a regressor: values) come back with the model (the test split, for evaluation and parity). */
  predictRows: number[][];
}

/** A dense trial: the network's input (its rows possibly encoded by a preprocessing, its task) and params. */
export type DenseTrialTask = Omit<DenseClassifierTrainingInput, 'onEpoch' | 'signal' | 'onBatchEnd'> & {
  family: 'dense';
  /** Rows whose TensorFlow.js outputs come back with the model (the test split, for evaluation and parity). */
  predictRows: number[][];
};
export type ForestTrialTask = TrialData & {
  family: 'forest';
  params: ForestTrialParams;
  /** Grow only these trees of the forest (a part of it, built beside the others on other workers). */
  treeIndices?: number[];
};
export type GbdtTrialTask = TrialData & { family: 'gbdt'; params: GbdtTrialParams };

/**
 * A CNN trial: images as 0..255 bytes (NHWC, row-major; typed arrays, so a worker thread gets them by structured clone,
 * not as JSON), class indices, and the test images whose TensorFlow.js probabilities come back with the model.
 */
export interface CnnTrialTask {
  family: 'cnn';
  image: ImageShape;
  xTrain: Uint8Array;
  yTrain: number[];
  xVal: Uint8Array;
  yVal: number[];
  labels: string[];
  params: CnnParams;
  seed: number;
  predictImages: Uint8Array;
}

/** What a worker needs to train one trial, by model family: a plain, serialisable object. */
export type TrialTask = DenseTrialTask | ForestTrialTask | GbdtTrialTask | CnnTrialTask;

/** A dense trial's answer: the model as pure weights, its history and the outputs of `predictRows`. */
export interface DenseTrialOutput {
  family: 'dense';
  spec: DenseTrialSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  predictions: number[][];
  /** A regressor's values of the validation rows (one column), for its val_mae, val_r2 and val_within_tolerance. */
  valPredictions?: number[][];
  backend: BackendName;
}

/**
 * A tree trial's answer: the ensemble (or the part of a forest asked for), and per row of the validation split and of
 * `predictRows` the sum of its trees' outputs (a forest's leaf distributions, or its leaf values as one column for a
 * regressor, whose mean over all trees is the probability or value, so parts add up) or, boosted, the probabilities
 * (a regressor: its value as one column).
 */
export interface TreeTrialOutput {
  family: 'forest' | 'gbdt';
  model: TreeEnsembleModel;
  valScores: number[][];
  predictScores: number[][];
  backend: BackendName;
}

/** A CNN trial's answer: the trained layers, its history and the probabilities of `predictImages`. */
export interface CnnTrialOutput {
  family: 'cnn';
  spec: CnnClassifierSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  predictions: number[][];
  backend: BackendName;
}

export type TrialOutput = DenseTrialOutput | TreeTrialOutput | CnnTrialOutput;

/** A model without its trees (of either ensemble kind). */
export type TreelessModel<M = TreeEnsembleModel> = M extends unknown ? Omit<M, 'trees'> : never;

/** A tree trial's answer as a worker sends it: the trees packed into typed arrays, whose buffers it transfers. */
export interface PackedTreeTrialOutput extends Omit<TreeTrialOutput, 'model'> {
  model: TreelessModel;
  trees: PackedTrees;
}

/** What a worker's `done` carries. */
export type SentTrialOutput = DenseTrialOutput | PackedTreeTrialOutput | CnnTrialOutput;

/** Parent → worker. */
export type ToWorker = { type: 'train'; id: number; task: TrialTask };

/** Worker → parent. */
export type FromWorker =
  | { type: 'ready'; backend: BackendName }
  | { type: 'epoch'; id: number; metrics: EpochMetrics }
  | { type: 'done'; id: number; output: SentTrialOutput }
  | { type: 'failed'; id: number; message: string }
  | { type: 'fatal'; message: string };

/** Passed as workerData. */
export interface TrialWorkerData {
  backend: BackendPreference;
  /** Tensor bytes a trial may hold (tf.memory().numBytes), checked after every batch. */
  tensorBytesLimit: number;
}
