import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import {
  createRng,
  fitStandardizer,
  standardize,
  type DenseClassifierSpec,
  type StandardizerSpec,
} from '@sepal/ml';
import { buildDenseModel, type CompiledDenseModel } from './dense-model';
import { EarlyStopping } from './early-stopping';
import { seededPermutation } from './seeded-order';
import { extractDenseLayers } from './spec-extraction';
import type { TensorFlow, TensorFlowHandle } from './tf-backend';
import {
  assertValidTrainingInput,
  type DenseClassifierTrainingInput,
  type EpochMetrics,
} from './training-input';

export type { DenseClassifierTrainingInput, EpochMetrics } from './training-input';

export interface TrainedDenseClassifier {
  /** Weights of the best epoch (lowest validation loss). */
  spec: DenseClassifierSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  /** TensorFlow.js probabilities for raw (unstandardised) rows, to check an export against. */
  predictProba(rows: number[][]): Promise<number[][]>;
  /** Frees the model's tensors; predictProba fails afterwards. */
  dispose(): void;
}

type DataTensors = { xTrain: Tensor2D; yTrain: Tensor2D; xVal: Tensor2D; yVal: Tensor2D };

interface TrainingOutcome {
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
}

/**
 * Trains a dense softmax classifier. Repeatable: the seed fixes the initial weights and every epoch's
 * shuffle, so the same seed on the same backend gives the same weights and metrics.
 */
export async function trainDenseClassifier(
  input: DenseClassifierTrainingInput,
  { tf }: TensorFlowHandle,
): Promise<TrainedDenseClassifier> {
  assertValidTrainingInput(input);
  const standardizer = fitStandardizer(input.xTrain);
  const data = toTensors(tf, input, standardizer);
  let compiled: CompiledDenseModel | undefined;
  try {
    const random = createRng(input.seed);
    const shape = { inputs: input.featureNames.length, classes: input.labels.length, params: input.params };
    compiled = buildDenseModel(tf, shape, random);
    const outcome = await trainWithEarlyStopping(tf, compiled.model, data, input, random);
    const spec: DenseClassifierSpec = {
      featureNames: [...input.featureNames],
      labels: [...input.labels],
      standardizer,
      layers: extractDenseLayers(compiled.model),
    };
    return { spec, ...outcome, ...servingFunctions(tf, compiled, standardizer) };
  } catch (error) {
    if (compiled) disposeCompiled(compiled);
    throw error;
  } finally {
    tf.dispose(data);
  }
}

/** Runs the epochs, then puts back the weights of the epoch with the lowest validation loss. */
async function trainWithEarlyStopping(
  tf: TensorFlow,
  model: LayersModel,
  data: DataTensors,
  { params, signal, onEpoch, onBatchEnd }: DenseClassifierTrainingInput,
  random: () => number,
): Promise<TrainingOutcome> {
  const earlyStopping = new EarlyStopping(params.earlyStoppingPatience);
  const history: EpochMetrics[] = [];
  let bestWeights: Tensor[] = [];
  let stoppedEarly = false;
  try {
    for (let epoch = 1; epoch <= params.epochs && !stoppedEarly; epoch++) {
      signal?.throwIfAborted();
      const metrics = await fitOneEpoch(tf, model, data, epoch, {
        batchSize: params.batchSize,
        random,
        signal,
        onBatchEnd,
      });
      history.push(metrics);
      const verdict = earlyStopping.observe(epoch, metrics.valLoss);
      if (verdict.improved) {
        tf.dispose(bestWeights);
        bestWeights = model.getWeights().map((weight) => weight.clone());
      }
      stoppedEarly = verdict.stop;
      await onEpoch?.(metrics);
    }
    model.setWeights(bestWeights);
    return { history, stoppedEarly, bestEpoch: earlyStopping.bestEpoch };
  } finally {
    tf.dispose(bestWeights);
  }
}

function servingFunctions(
  tf: TensorFlow,
  compiled: CompiledDenseModel,
  standardizer: StandardizerSpec,
): Pick<TrainedDenseClassifier, 'predictProba' | 'dispose'> {
  let disposed = false;
  return {
    predictProba: async (rows) => {
      if (disposed) throw new Error('predictProba: the classifier has been disposed');
      return predictWithModel(tf, compiled.model, standardizer, rows);
    },
    dispose: () => {
      if (!disposed) disposeCompiled(compiled);
      disposed = true;
    },
  };
}

function disposeCompiled({ model, optimizer }: CompiledDenseModel): void {
  model.dispose();
  optimizer.dispose();
}

/** All or none: if standardising a row throws, tidy frees the tensors already made. */
function toTensors(
  tf: TensorFlow,
  input: DenseClassifierTrainingInput,
  standardizer: StandardizerSpec,
): DataTensors {
  const classes = input.labels.length;
  const oneHot = (labels: number[]) => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as Tensor2D;
  return tf.tidy(() => ({
    xTrain: tf.tensor2d(standardize(standardizer, input.xTrain), undefined, 'float32'),
    yTrain: oneHot(input.yTrain),
    xVal: tf.tensor2d(standardize(standardizer, input.xVal), undefined, 'float32'),
    yVal: oneHot(input.yVal),
  }));
}

/** tf's own shuffle is not seeded, so each epoch reorders the rows here and fits them in that order. */
async function fitOneEpoch(
  tf: TensorFlow,
  model: LayersModel,
  data: DataTensors,
  epoch: number,
  {
    batchSize,
    random,
    signal,
    onBatchEnd,
  }: { batchSize: number; random: () => number; signal?: AbortSignal; onBatchEnd?: () => void },
): Promise<EpochMetrics> {
  const order = seededPermutation(data.xTrain.shape[0], random);
  const [x, y] = tf.tidy(() => {
    const indices = tf.tensor1d(order, 'int32');
    return [tf.gather(data.xTrain, indices), tf.gather(data.yTrain, indices)];
  });
  try {
    const { history } = await model.fit(x, y, {
      epochs: 1,
      batchSize,
      shuffle: false,
      validationData: [data.xVal, data.yVal],
      verbose: 0,
      callbacks: {
        onBatchEnd: async () => {
          onBatchEnd?.();
          if (signal?.aborted) model.stopTraining = true;
        },
      },
    });
    signal?.throwIfAborted();
    const metrics: EpochMetrics = {
      epoch,
      loss: lastValue(history, 'loss'),
      accuracy: lastValue(history, 'acc'),
      valLoss: lastValue(history, 'val_loss'),
      valAccuracy: lastValue(history, 'val_acc'),
    };
    // tf clips probabilities inside the loss, so NaN weights can still report a finite loss: check both.
    if (!Number.isFinite(metrics.loss) || !Number.isFinite(metrics.valLoss) || !hasFiniteWeights(tf, model)) {
      throw new Error(
        `Training diverged at epoch ${epoch}: a loss or a weight is not finite (learning rate too high?)`,
      );
    }
    return metrics;
  } finally {
    tf.dispose([x, y]);
  }
}

function hasFiniteWeights(tf: TensorFlow, model: LayersModel): boolean {
  const finite = tf.tidy(() =>
    tf.stack(model.getWeights().map((weight) => tf.all(tf.isFinite(weight)).cast('int32'))).min(),
  );
  try {
    return finite.dataSync()[0] === 1;
  } finally {
    finite.dispose();
  }
}

function lastValue(history: Record<string, (number | Tensor)[]>, key: string): number {
  const value = history[key]?.at(-1);
  if (value === undefined) {
    throw new Error(`model.fit reported no '${key}'`);
  }
  return typeof value === 'number' ? value : value.dataSync()[0];
}

async function predictWithModel(
  tf: TensorFlow,
  model: LayersModel,
  standardizer: StandardizerSpec,
  rows: number[][],
): Promise<number[][]> {
  if (rows.length === 0) return [];
  const probabilities = tf.tidy(
    () => model.predict(tf.tensor2d(standardize(standardizer, rows), undefined, 'float32')) as Tensor2D,
  );
  try {
    return await probabilities.array();
  } finally {
    probabilities.dispose();
  }
}
