import { CNN_PARAM_LIMITS, DEFAULT_CNN_PARAMS, type CnnParams, type ImageShape } from '../../model/cnn-spec';
import { OPTIMIZERS } from '../training-params';
import { overLimitMessage, type DataShape, type TrainingLimits } from '../training-limits';
import type { Definition } from './definitions';

/** A convolutional network's trial (images only): `convBlocks` × [conv, batch norm, ReLU, pool, dropout], dense head. */
export type CnnTrial = { model: 'cnn' } & CnnParams;

export { DEFAULT_CNN_PARAMS };

const bounded = (name: keyof typeof CNN_PARAM_LIMITS, integer: boolean): Definition => ({
  kind: 'number',
  integer,
  min: CNN_PARAM_LIMITS[name].min,
  max: CNN_PARAM_LIMITS[name].max,
});

/** The CNN's parameters in the canonical order grids expand in, each with its bounds (CNN_PARAM_LIMITS). */
export const CNN_DEFINITIONS: Record<keyof CnnParams, Definition> = {
  convBlocks: bounded('convBlocks', true),
  filters: bounded('filters', true),
  kernelSize: bounded('kernelSize', true),
  padding: { kind: 'choice', values: ['same', 'valid'] },
  batchNorm: { kind: 'boolean' },
  dropout: bounded('dropout', false),
  denseUnits: bounded('denseUnits', true),
  optimizer: { kind: 'choice', values: OPTIMIZERS },
  learningRate: bounded('learningRate', false),
  batchSize: bounded('batchSize', true),
  epochs: bounded('epochs', true),
  earlyStoppingPatience: bounded('earlyStoppingPatience', true),
};

/**
 * The default grid of an image dataset: the default CNN (two blocks, batch normalisation, dropout 0.25, 128 dense
 * units, Adam 0.001, up to 12 epochs with a patience of 3) with 16 or 32 first-block filters, two trials that train
 * side by side on a 2-core machine.
 */
export const DEFAULT_IMAGE_GRID = Object.freeze({ model: ['cnn'], filters: [16, 32] });

/** Multiply-accumulates of one image's forward pass through the convolutions (the dense head is small beside them). */
export function cnnConvolutionMacs(params: CnnParams, image: ImageShape): number {
  let [height, width, channels] = [image.height, image.width, image.channels];
  let macs = 0;
  for (let block = 0; block < params.convBlocks; block++) {
    const filters = params.filters * 2 ** block;
    if (params.padding === 'valid') {
      height = Math.max(1, height - params.kernelSize + 1);
      width = Math.max(1, width - params.kernelSize + 1);
    }
    macs += height * width * params.kernelSize ** 2 * channels * filters;
    [height, width, channels] = [
      Math.max(1, Math.floor(height / 2)),
      Math.max(1, Math.floor(width / 2)),
      filters,
    ];
  }
  return macs;
}

/**
 * Rough seconds of a CNN trial on one core of the WASM backend: forward and backward passes (about 3× the forward
 * multiply-accumulates) over the rows and about two thirds of the epochs before early stopping, at some 1.5e9
 * multiply-accumulates a second, plus TensorFlow.js's set-up. `shape.features` is taken as a square grey image's
 * pixels when the image's own shape is not given.
 */
export function estimateCnnSeconds(trial: CnnParams, shape: DataShape, image?: ImageShape): number {
  const side = Math.max(1, Math.round(Math.sqrt(Math.max(1, shape.features))));
  const input = image ?? { height: side, width: side, channels: 1 };
  const epochs = trial.earlyStoppingPatience > 0 ? Math.ceil((trial.epochs * 2) / 3) : trial.epochs;
  return (3 * cnnConvolutionMacs(trial, input) * Math.max(1, shape.rows) * epochs) / 1.5e9 + 1;
}

/** A CNN trial's epochs and batch size against TRAIN_MAX_EPOCHS / TRAIN_MAX_BATCH_SIZE, rows × epochs when known. */
export function cnnLimitProblems(
  trials: readonly CnnParams[],
  limits: TrainingLimits,
  shape?: DataShape,
): string[] {
  const problems: string[] = [];
  const checks: [keyof TrainingLimits, (p: CnnParams) => number, (value: number) => string][] = [
    ['maxEpochs', (p) => p.epochs, (v) => `epochs ${v}`],
    ['maxBatchSize', (p) => p.batchSize, (v) => `batchSize ${v}`],
  ];
  if (shape) {
    checks.push([
      'maxRowEpochs',
      (p) => shape.rows * p.epochs,
      (v) => `${shape.rows} images × epochs = ${v}`,
    ]);
  }
  for (const [limit, measure, describe] of checks) {
    const first = trials.find((trial) => measure(trial) > limits[limit]);
    if (first) problems.push(overLimitMessage(limits, limit, describe(measure(first))));
  }
  return problems;
}
