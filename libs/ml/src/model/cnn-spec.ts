import { OPTIMIZERS, type OptimizerName } from '../tuning/training-params';
import type { DenseLayerSpec } from './dense-spec';

/*
 * The convolutional classifier family: its hyperparameters (flat, so a grid can vary each one), the layer stack they
 * describe, and a trained model described as plain numbers (what the trainer extracts from TensorFlow.js and the ONNX
 * exporter consumes). Images are NHWC with pixel values 0..255; the model divides them by `scale` first.
 */

export type ConvPadding = 'same' | 'valid';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** Hyperparameters of one CNN: `convBlocks` x [Conv -> (BatchNorm) -> ReLU -> MaxPool 2x2 -> (Dropout)], Dense head. */
export interface CnnParams {
  convBlocks: number;
  /** Filters of the first block; each further block doubles them. */
  filters: number;
  kernelSize: number;
  padding: ConvPadding;
  batchNorm: boolean;
  /** Dropout after each convolution block and before the output layer; 0 turns it off. */
  dropout: number;
  /** Units of the hidden Dense layer (ReLU) before the softmax; 0 means none. */
  denseUnits: number;
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
  epochs: number;
  /** Epochs without validation improvement before stopping; 0 turns early stopping off. */
  earlyStoppingPatience: number;
}

/** Two blocks of 16 and 32 3x3 filters with batch normalisation: small enough for a 2-core machine. */
export const DEFAULT_CNN_PARAMS: Readonly<CnnParams> = Object.freeze({
  convBlocks: 2,
  filters: 16,
  kernelSize: 3,
  padding: 'same',
  batchNorm: true,
  dropout: 0.25,
  denseUnits: 128,
  optimizer: 'adam',
  learningRate: 0.001,
  batchSize: 64,
  epochs: 12,
  earlyStoppingPatience: 3,
});

/** Bounds on every value a client may put in a CNN grid: each one prices CPU time or memory. */
export const CNN_PARAM_LIMITS = Object.freeze({
  convBlocks: { min: 1, max: 4 },
  filters: { min: 1, max: 128 },
  kernelSize: { min: 1, max: 7 },
  dropout: { min: 0, max: 0.9 },
  denseUnits: { min: 0, max: 1024 },
  learningRate: { min: 1e-6, max: 1 },
  batchSize: { min: 1, max: 1024 },
  epochs: { min: 1, max: 200 },
  earlyStoppingPatience: { min: 0, max: 50 },
});

/** Every problem with `params` for images of `input`'s shape, each naming the parameter and its limit. */
export function cnnParamsProblems(params: CnnParams, input?: ImageShape): string[] {
  const problems: string[] = [];
  const integers = ['convBlocks', 'filters', 'kernelSize', 'denseUnits', 'batchSize', 'epochs'] as const;
  for (const name of [...integers, 'earlyStoppingPatience', 'dropout', 'learningRate'] as const) {
    const value = params[name];
    const { min, max } = CNN_PARAM_LIMITS[name];
    const integer = name !== 'dropout' && name !== 'learningRate';
    if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      problems.push(`${name} must be ${integer ? 'an integer' : 'a number'}, got ${String(value)}`);
    } else if (value < min || value > max) {
      problems.push(`${name} must be between ${min} and ${max}, got ${value}`);
    }
  }
  if (params.padding !== 'same' && params.padding !== 'valid') {
    problems.push(`padding must be 'same' or 'valid', got ${String(params.padding)}`);
  }
  if (typeof params.batchNorm !== 'boolean') problems.push(`batchNorm must be true or false`);
  if (!OPTIMIZERS.includes(params.optimizer)) {
    problems.push(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${String(params.optimizer)}`);
  }
  if (problems.length === 0 && input) {
    try {
      cnnLayerShapes(cnnArchitecture(params), input);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

/** One layer of the stack, without weights: what the trainer builds in TensorFlow.js. */
export type CnnLayer =
  | {
      kind: 'conv2d';
      filters: number;
      kernelSize: number;
      stride: number;
      padding: ConvPadding;
      useBias: boolean;
    }
  | { kind: 'batchNorm' }
  | { kind: 'relu' }
  | { kind: 'maxPool'; poolSize: number }
  | { kind: 'dropout'; rate: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; units: number; activation: 'relu' | 'softmax' };

/** The layer stack `params` describe, up to the softmax (whose units are the classes, set by the caller). */
export function cnnArchitecture(params: CnnParams): CnnLayer[] {
  const layers: CnnLayer[] = [];
  for (let block = 0; block < params.convBlocks; block++) {
    layers.push({
      kind: 'conv2d',
      filters: params.filters * 2 ** block,
      kernelSize: params.kernelSize,
      stride: 1,
      padding: params.padding,
      // Batch normalisation's beta replaces the convolution's bias.
      useBias: !params.batchNorm,
    });
    if (params.batchNorm) layers.push({ kind: 'batchNorm' });
    layers.push({ kind: 'relu' }, { kind: 'maxPool', poolSize: 2 });
    if (params.dropout > 0) layers.push({ kind: 'dropout', rate: params.dropout });
  }
  layers.push({ kind: 'flatten' });
  if (params.denseUnits > 0) {
    layers.push({ kind: 'dense', units: params.denseUnits, activation: 'relu' });
    if (params.dropout > 0) layers.push({ kind: 'dropout', rate: params.dropout });
  }
  return layers;
}

/** Output size of a convolution or pooling window along one axis, as TensorFlow computes it. */
export function convOutputSize(size: number, window: number, stride: number, padding: ConvPadding): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

/** The zeros TensorFlow's 'same' padding adds before and after an axis (the odd one goes after). */
export function samePadding(size: number, window: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + window - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** The [height, width, channels] (or [units]) after each layer; throws naming the layer that empties the image. */
export function cnnLayerShapes(layers: readonly CnnLayer[], input: ImageShape): number[][] {
  let shape = [input.height, input.width, input.channels];
  return layers.map((layer, index) => {
    const [height = 0, width = 0, channels = 0] = shape;
    if (layer.kind === 'conv2d' || layer.kind === 'maxPool') {
      if (shape.length !== 3) throw new Error(`layer ${index} (${layer.kind}) comes after the flatten`);
      const window = layer.kind === 'conv2d' ? layer.kernelSize : layer.poolSize;
      const stride = layer.kind === 'conv2d' ? layer.stride : layer.poolSize;
      const padding = layer.kind === 'conv2d' ? layer.padding : 'valid';
      const out = [
        convOutputSize(height, window, stride, padding),
        convOutputSize(width, window, stride, padding),
      ];
      if (out.some((size) => size < 1)) {
        throw new Error(
          `layer ${index} (${layer.kind} ${window}x${window}) leaves nothing of a ${height}x${width} image: ` +
            `use fewer convBlocks, a smaller kernelSize or 'same' padding`,
        );
      }
      shape = [...out, layer.kind === 'conv2d' ? layer.filters : channels];
    } else if (layer.kind === 'flatten') {
      shape = [height * width * channels];
    } else if (layer.kind === 'dense') {
      shape = [layer.units];
    }
    return shape;
  });
}

/** A trained layer: the weights as TensorFlow.js stores them. Dropout, an identity at inference, is left out. */
export type CnnLayerSpec =
  | {
      kind: 'conv2d';
      /** HWIO [kernelHeight, kernelWidth, inChannels, filters], row-major, as a tf Conv2D kernel. */
      kernel: Float32Array;
      /** Absent when batch normalisation follows. */
      bias?: Float32Array;
      kernelHeight: number;
      kernelWidth: number;
      inChannels: number;
      filters: number;
      strides: [number, number];
      padding: ConvPadding;
    }
  | {
      kind: 'batchNorm';
      gamma: Float32Array;
      beta: Float32Array;
      movingMean: Float32Array;
      movingVariance: Float32Array;
      epsilon: number;
    }
  | { kind: 'relu' }
  | { kind: 'maxPool'; poolSize: [number, number]; strides: [number, number]; padding: ConvPadding }
  /** Flattens [H, W, C] in TensorFlow's row-major NHWC order. */
  | { kind: 'flatten' }
  | ({ kind: 'dense' } & DenseLayerSpec);

export interface CnnClassifierSpec {
  input: ImageShape;
  /** Pixels are divided by this before the first layer (255 for 8-bit images). */
  scale: number;
  /** Class names by index: labels[i] is the name of class i. */
  labels: string[];
  /** Ends with a Dense softmax layer of labels.length units. */
  layers: CnnLayerSpec[];
}
