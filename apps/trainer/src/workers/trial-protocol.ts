import type { DenseTrialSpec } from '../training/dense-classifier';
import type { DenseClassifierTrainingInput, EpochMetrics } from '../training/training-input';
import type { BackendName, BackendPreference } from '../training/tf-backend';

/** What a worker thread needs to train one trial: plain data, so it crosses the thread boundary by structured clone. */
export type TrialTask = Omit<DenseClassifierTrainingInput, 'onEpoch' | 'signal' | 'onBatchEnd'> & {
  /** Rows whose TensorFlow.js probabilities come back with the model (the test split, for evaluation and parity). */
  predictRows: number[][];
};

/** The worker's answer: the model as pure weights, its history and the probabilities of `predictRows`. */
export interface TrialOutput {
  spec: DenseTrialSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  predictions: number[][];
  backend: BackendName;
}

/** Parent → worker. */
export type ToWorker = { type: 'train'; id: number; task: TrialTask };

/** Worker → parent. */
export type FromWorker =
  | { type: 'ready'; backend: BackendName }
  | { type: 'epoch'; id: number; metrics: EpochMetrics }
  | { type: 'done'; id: number; output: TrialOutput }
  | { type: 'failed'; id: number; message: string }
  | { type: 'fatal'; message: string };

/** Passed as workerData. */
export interface TrialWorkerData {
  backend: BackendPreference;
  /** Tensor bytes a trial may hold (tf.memory().numBytes), checked after every batch. */
  tensorBytesLimit: number;
}
