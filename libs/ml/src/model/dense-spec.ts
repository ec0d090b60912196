import type { FeaturePreprocessing } from '../preprocessing/feature-preprocessing';
import type { StandardizerSpec } from '../preprocessing/standardizer';

/**
 * A trained dense classifier described as plain numbers: what the trainer extracts from TensorFlow.js
 * and what the ONNX exporter and the reference forward pass consume.
 */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear' | 'softmax';

export interface DenseLayerSpec {
  /** Row-major [inputs x units] weight matrix, as TensorFlow.js stores a Dense kernel. */
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  units: number;
  activation: Activation;
}

export interface DenseClassifierSpec {
  featureNames: string[];
  /** Class names by index: labels[i] is the name of class i. */
  labels: string[];
  standardizer: StandardizerSpec;
  /** Hidden layers followed by the output layer, whose activation is 'softmax' and units = labels.length. */
  layers: DenseLayerSpec[];
  /**
   * The raw columns' preprocessing (imputation, standardisation, one-hot of categorical columns). When present it
   * replaces `standardizer` (which then is not used) and `featureNames` are its columns' names; when absent the model
   * takes all-numeric features standardised by `standardizer`, as before.
   */
  preprocessing?: FeaturePreprocessing;
}

/** A trained dense regressor: the preprocessing, hidden layers, then one linear unit in the target's own units. */
export interface DenseRegressorSpec {
  task: 'regression';
  featureNames: string[];
  preprocessing: FeaturePreprocessing;
  layers: DenseLayerSpec[];
}
