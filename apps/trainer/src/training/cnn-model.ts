import type { LayersModel, Sequential, Tensor, Tensor2D } from '@tensorflow/tfjs';
import {
  cnnArchitecture,
  cnnParamsProblems,
  createRng,
  type CnnClassifierSpec,
  type CnnLayer,
  type CnnParams,
  type ImageShape,
} from '@sepal/ml';
import {
  disposeCompiled,
  trainWithEarlyStopping,
  type DataTensors,
  type EpochLoopInput,
} from './dense-classifier';
import { createOptimizer, type CompiledDenseModel } from './dense-model';
import { extractCnnLayers } from './cnn-extraction';
import type { TensorFlow, TensorFlowHandle } from './tf-backend';
import type { EpochMetrics } from './training-input';

/** Pixel values of 8-bit images; the model sees them divided by this. */
export const PIXEL_SCALE = 255;

/** Images as pixel values 0..255, NHWC and row-major: image i is values [i*H*W*C, (i+1)*H*W*C). */
export type ImagePixels = Uint8Array | Float32Array;

export interface CnnTrainingInput extends EpochLoopInput {
  image: ImageShape;
  xTrain: ImagePixels;
  /** Class indices into `labels`, one per training image. */
  yTrain: readonly number[];
  xVal: ImagePixels;
  yVal: readonly number[];
  labels: string[];
  params: CnnParams;
  seed: number;
}

export interface TrainedCnnClassifier {
  /** Weights of the best epoch (lowest validation loss). */
  spec: CnnClassifierSpec;
  history: EpochMetrics[];
  stoppedEarly: boolean;
  bestEpoch: number;
  /** TensorFlow.js probabilities [N x classes] (row-major) of raw pixel images, to check an export against. */
  predictProba(images: ImagePixels): Promise<Float32Array>;
  /** Frees the model's tensors; predictProba fails afterwards. */
  dispose(): void;
}

/**
 * Trains a CNN classifier on images (scaled to [0, 1] from 0..255). Repeatable like the dense trainer: the seed fixes
 * the initial weights, the dropout masks and every epoch's order; early stopping on the validation loss.
 */
export async function trainCnnClassifier(
  input: CnnTrainingInput,
  { tf }: TensorFlowHandle,
): Promise<TrainedCnnClassifier> {
  assertValidCnnInput(input);
  const random = createRng(input.seed);
  const data = tf.tidy(() => toTensors(tf, input));
  let compiled: CompiledDenseModel | undefined;
  try {
    compiled = buildCnnModel(
      tf,
      cnnArchitecture(input.params),
      input.image,
      input.labels.length,
      input.params,
      random,
    );
    const outcome = await trainWithEarlyStopping(tf, compiled.model, data, input, random);
    const spec: CnnClassifierSpec = {
      input: { ...input.image },
      scale: PIXEL_SCALE,
      labels: [...input.labels],
      layers: extractCnnLayers(compiled.model),
    };
    return { spec, ...outcome, ...servingFunctions(tf, compiled, input.image, input.params.batchSize) };
  } catch (error) {
    if (compiled) disposeCompiled(compiled);
    throw error;
  } finally {
    tf.dispose(data);
  }
}

/** The layers of `architecture` then Dense(classes, softmax), compiled for one-hot labels with seeded initialisers. */
export function buildCnnModel(
  tf: TensorFlow,
  architecture: readonly CnnLayer[],
  image: ImageShape,
  classes: number,
  params: Pick<CnnParams, 'optimizer' | 'learningRate'>,
  random: () => number,
): CompiledDenseModel {
  const seed = () => Math.floor(random() * 2 ** 31);
  const model: Sequential = tf.sequential();
  const first = { inputShape: [image.height, image.width, image.channels] };
  const layers = architecture.map((layer) => {
    switch (layer.kind) {
      case 'conv2d':
        return tf.layers.conv2d({
          filters: layer.filters,
          kernelSize: layer.kernelSize,
          strides: layer.stride,
          padding: layer.padding,
          useBias: layer.useBias,
          kernelInitializer: tf.initializers.heNormal({ seed: seed() }),
        });
      case 'batchNorm':
        return tf.layers.batchNormalization({ axis: -1, momentum: 0.9 });
      case 'relu':
        return tf.layers.activation({ activation: 'relu' });
      case 'maxPool':
        return tf.layers.maxPooling2d({
          poolSize: layer.poolSize,
          strides: layer.poolSize,
          padding: 'valid',
        });
      case 'dropout':
        return tf.layers.dropout({ rate: layer.rate, seed: seed() });
      case 'flatten':
        return tf.layers.flatten();
      case 'dense':
        return tf.layers.dense({
          units: layer.units,
          activation: layer.activation,
          kernelInitializer: tf.initializers.heNormal({ seed: seed() }),
        });
      default:
        throw new Error(`buildCnnModel: unknown layer ${JSON.stringify(layer satisfies never)}`);
    }
  });
  layers.push(
    tf.layers.dense({
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed() }),
    }),
  );
  // The input shape goes on an InputLayer so that every layer above can be any kind.
  model.add(tf.layers.inputLayer(first));
  layers.forEach((layer) => model.add(layer));
  const optimizer = createOptimizer(tf, params);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return { model, optimizer };
}

/** Throws one error listing every problem, before any tensor is allocated. */
export function assertValidCnnInput(input: CnnTrainingInput): void {
  const { image, labels } = input;
  const problems = cnnParamsProblems(input.params, image);
  const pixels = image.height * image.width * image.channels;
  if (labels.length < 2) problems.push(`at least 2 labels are needed, got ${labels.length}`);
  for (const [name, x, y] of [
    ['training', input.xTrain, input.yTrain],
    ['validation', input.xVal, input.yVal],
  ] as const) {
    if (y.length === 0) problems.push(`the ${name} set is empty`);
    if (x.length !== y.length * pixels) {
      problems.push(`the ${name} set has ${x.length} pixel values for ${y.length} images of ${pixels}`);
    }
    if (y.some((label) => !Number.isInteger(label) || label < 0 || label >= labels.length)) {
      problems.push(`the ${name} labels must be class indices 0..${labels.length - 1}`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid CNN training input: ${problems.join('; ')}`);
}

/** Float32 NHWC images in [0, 1]: the same division by 255 the ONNX graph does, so both see identical inputs. */
export function scaledImages(tf: TensorFlow, pixels: ImagePixels, image: ImageShape): Tensor {
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = (pixels[i] as number) / PIXEL_SCALE;
  const count = pixels.length / (image.height * image.width * image.channels);
  return tf.tensor4d(scaled, [count, image.height, image.width, image.channels], 'float32');
}

function toTensors(tf: TensorFlow, input: CnnTrainingInput): DataTensors {
  const oneHot = (labels: readonly number[]) =>
    tf.oneHot(tf.tensor1d([...labels], 'int32'), input.labels.length).toFloat() as Tensor2D;
  return {
    xTrain: scaledImages(tf, input.xTrain, input.image),
    yTrain: oneHot(input.yTrain),
    xVal: scaledImages(tf, input.xVal, input.image),
    yVal: oneHot(input.yVal),
  };
}

function servingFunctions(
  tf: TensorFlow,
  compiled: CompiledDenseModel,
  image: ImageShape,
  batchSize: number,
): Pick<TrainedCnnClassifier, 'predictProba' | 'dispose'> {
  let disposed = false;
  return {
    predictProba: async (images) => {
      if (disposed) throw new Error('predictProba: the classifier has been disposed');
      return predictImages(tf, compiled.model, images, image, batchSize);
    },
    dispose: () => {
      if (!disposed) disposeCompiled(compiled);
      disposed = true;
    },
  };
}

async function predictImages(
  tf: TensorFlow,
  model: LayersModel,
  images: ImagePixels,
  image: ImageShape,
  batchSize: number,
): Promise<Float32Array> {
  if (images.length === 0) return new Float32Array(0);
  const probabilities = tf.tidy(
    () => model.predict(scaledImages(tf, images, image), { batchSize }) as Tensor2D,
  );
  try {
    return Float32Array.from(await probabilities.data());
  } finally {
    probabilities.dispose();
  }
}
