import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import {
  createRng,
  fitStandardizer,
  numericPreprocessing,
  standardize,
  type DenseClassifierSpec,
  type DenseLayerSpec,
  type DenseRegressorSpec,
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

/** What a dense trial is as plain numbers: a classifier, or a regressor (task 'regression'). */
export type DenseTrialSpec = DenseClassifierSpec | DenseRegressorSpec;

/** The target's mean and deviation: a regressor trains on the standardised target, and its export undoes it. */
interface TargetScale {
  mean: number;
  std: number;
}

export interface TrainedDenseClassifier {
  /** Weights of the best epoch (lowest validation loss). */
  spec: DenseTrialSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  /**
   * TensorFlow.js probabilities for raw (unstandardised) rows, to check an export against; a regressor answers one
   * column, the predicted value. Rows are encoded ones when the input had a preprocessing.
   */
  predictProba(rows: number[][]): Promise<number[][]>;
  /** Frees the model's tensors; predictProba fails afterwards. */
  dispose(): void;
}

/** Rows (or images, [N, H, W, C]) and their one-hot labels (or standardised targets). */
export type DataTensors = { xTrain: Tensor; yTrain: Tensor2D; xVal: Tensor; yVal: Tensor2D };

/** What the epoch loop needs of a training input; the CNN trainer shares it. */
export type EpochLoopInput = Pick<DenseClassifierTrainingInput, 'signal' | 'onEpoch' | 'onBatchEnd'> & {
  params: Pick<DenseClassifierTrainingInput['params'], 'epochs' | 'batchSize' | 'earlyStoppingPatience'>;
};

export interface TrainingOutcome {
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
  const width = input.featureNames.length;
  // Rows already encoded by a preprocessing are standardised there: the trial passes them through unchanged.
  const standardizer = input.preprocessing
    ? { mean: new Array<number>(width).fill(0), std: new Array<number>(width).fill(1) }
    : fitStandardizer(input.xTrain);
  const regression = input.task === 'regression';
  const target = regression ? fitTargetScale(input.yTrain) : undefined;
  const data = toTensors(tf, input, standardizer, target);
  let compiled: CompiledDenseModel | undefined;
  try {
    const random = createRng(input.seed);
    const shape = { inputs: width, classes: input.labels.length, params: input.params, regression };
    compiled = buildDenseModel(tf, shape, random);
    const outcome = await trainWithEarlyStopping(tf, compiled.model, data, input, random, target);
    const layers = extractDenseLayers(compiled.model);
    const spec: DenseTrialSpec = target
      ? {
          task: 'regression',
          featureNames: input.preprocessing
            ? input.preprocessing.columns.map((column) => column.name)
            : [...input.featureNames],
          preprocessing: input.preprocessing ?? numericPreprocessing(input.featureNames, standardizer),
          layers: unscaleOutput(layers, target),
        }
      : {
          featureNames: input.preprocessing
            ? input.preprocessing.columns.map((column) => column.name)
            : [...input.featureNames],
          labels: [...input.labels],
          standardizer,
          layers,
          ...(input.preprocessing ? { preprocessing: input.preprocessing } : {}),
        };
    return { spec, ...outcome, ...servingFunctions(tf, compiled, standardizer, target) };
  } catch (error) {
    if (compiled) disposeCompiled(compiled);
    throw error;
  } finally {
    tf.dispose(data);
  }
}

/** Runs the epochs, then puts back the weights of the epoch with the lowest validation loss. */
export async function trainWithEarlyStopping(
  tf: TensorFlow,
  model: LayersModel,
  data: DataTensors,
  { params, signal, onEpoch, onBatchEnd }: EpochLoopInput,
  random: () => number,
  target?: TargetScale,
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
        target,
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
  target: TargetScale | undefined,
): Pick<TrainedDenseClassifier, 'predictProba' | 'dispose'> {
  let disposed = false;
  return {
    predictProba: async (rows) => {
      if (disposed) throw new Error('predictProba: the classifier has been disposed');
      const outputs = await predictWithModel(tf, compiled.model, standardizer, rows);
      return target ? outputs.map(([value]) => [value * target.std + target.mean]) : outputs;
    },
    dispose: () => {
      if (!disposed) disposeCompiled(compiled);
      disposed = true;
    },
  };
}

export function disposeCompiled({ model, optimizer }: CompiledDenseModel): void {
  model.dispose();
  optimizer.dispose();
}

/** All or none: if standardising a row throws, tidy frees the tensors already made. */
function toTensors(
  tf: TensorFlow,
  input: DenseClassifierTrainingInput,
  standardizer: StandardizerSpec,
  target: TargetScale | undefined,
): DataTensors {
  const classes = input.labels.length;
  const oneHot = (labels: number[]) =>
    target
      ? tf.tensor2d(
          labels.map((y) => [(y - target.mean) / target.std]),
          undefined,
          'float32',
        )
      : (tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as Tensor2D);
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
    target,
  }: {
    batchSize: number;
    random: () => number;
    signal?: AbortSignal;
    onBatchEnd?: () => void;
    target?: TargetScale;
  },
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
    const valLoss = lastValue(history, 'val_loss');
    const metrics: EpochMetrics = target
      ? {
          epoch,
          loss: lastValue(history, 'loss'),
          accuracy: 0,
          valLoss,
          valAccuracy: 0,
          // The loss is the MSE of the standardised target (plus any L2 penalty): close to, not exactly, the RMSE.
          valRmse: Math.sqrt(Math.max(0, valLoss)) * target.std,
        }
      : {
          epoch,
          loss: lastValue(history, 'loss'),
          accuracy: lastValue(history, 'acc'),
          valLoss,
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

/** Mean and population deviation of the training target (1 for a constant target). */
function fitTargetScale(y: readonly number[]): TargetScale {
  const mean = y.reduce((sum, value) => sum + value, 0) / y.length;
  const variance = y.reduce((sum, value) => sum + (value - mean) ** 2, 0) / y.length;
  return { mean, std: variance > 0 ? Math.sqrt(variance) : 1 };
}

/** Folds the target's standardisation into the output layer, so the exported model answers in the target's units. */
function unscaleOutput(layers: DenseLayerSpec[], { mean, std }: TargetScale): DenseLayerSpec[] {
  const output = layers[layers.length - 1];
  return [
    ...layers.slice(0, -1),
    {
      ...output,
      kernel: Float32Array.from(output.kernel, (weight) => weight * std),
      bias: Float32Array.from(output.bias, (bias) => bias * std + mean),
    },
  ];
}
