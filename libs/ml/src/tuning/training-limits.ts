import type { TrainingParams } from './training-params';

/**
 * What one training job may ask for: every size a request controls has a ceiling, so that no request can exhaust the
 * machine. Set by configuration (the trainer's TRAIN_MAX_* variables); a job over one is refused naming it.
 */
export interface TrainingLimits {
  maxHiddenUnits: number;
  maxHiddenLayers: number;
  maxEpochs: number;
  maxBatchSize: number;
  /** Weights and biases of one network. */
  maxParameters: number;
  /** Trials (grid combinations) of one job. */
  maxTrials: number;
  /** Training rows × epochs of one trial: the work of one trial. */
  maxRowEpochs: number;
}

/** The environment variable that sets each limit, for the error messages. */
export const TRAINING_LIMIT_VARIABLES: Record<keyof TrainingLimits, string> = {
  maxHiddenUnits: 'TRAIN_MAX_HIDDEN_UNITS',
  maxHiddenLayers: 'TRAIN_MAX_HIDDEN_LAYERS',
  maxEpochs: 'TRAIN_MAX_EPOCHS',
  maxBatchSize: 'TRAIN_MAX_BATCH_SIZE',
  maxParameters: 'TRAIN_MAX_PARAMETERS',
  maxTrials: 'TRAIN_MAX_TRIALS',
  maxRowEpochs: 'TRAIN_MAX_ROW_EPOCHS',
};

export const DEFAULT_TRAINING_LIMITS: Readonly<TrainingLimits> = Object.freeze({
  maxHiddenUnits: 1024,
  maxHiddenLayers: 4,
  maxEpochs: 2000,
  maxBatchSize: 8192,
  maxParameters: 2_000_000,
  maxTrials: 64,
  maxRowEpochs: 200_000_000,
});

/** The shape of the data, once known: features in, classes out, training rows. */
export interface DataShape {
  features: number;
  classes: number;
  rows: number;
}

/** "<asked> is over the limit of <n> (<VARIABLE>)". */
export function overLimitMessage(limits: TrainingLimits, limit: keyof TrainingLimits, asked: string): string {
  return `${asked} is over the limit of ${limits[limit]} (${TRAINING_LIMIT_VARIABLES[limit]})`;
}

/** Weights and biases of a dense network with these parameters on this many inputs and classes. */
export function denseParameterCount(params: TrainingParams, features: number, classes: number): number {
  const units = params.hiddenUnits;
  const first = (features + 1) * units;
  const hidden = (params.hiddenLayers - 1) * (units + 1) * units;
  const output = (units + 1) * classes;
  return first + hidden + output;
}

/**
 * Every limit a job's trials exceed, each naming the limit, its variable and the value asked for (one message per
 * limit, at the first trial that exceeds it). Without `shape` (before the data is read), the parameter count is
 * bounded from the hidden layers alone and rows × epochs is not checked.
 */
export function trainingLimitProblems(
  trials: readonly TrainingParams[],
  limits: TrainingLimits,
  shape?: DataShape,
): string[] {
  const problems: string[] = [];
  const over = (limit: keyof TrainingLimits, asked: string) =>
    problems.push(overLimitMessage(limits, limit, asked));
  if (trials.length > limits.maxTrials) over('maxTrials', `a grid of ${trials.length} trials`);
  const checks: [keyof TrainingLimits, (p: TrainingParams) => number, (value: number) => string][] = [
    ['maxHiddenUnits', (p) => p.hiddenUnits, (v) => `hiddenUnits ${v}`],
    ['maxHiddenLayers', (p) => p.hiddenLayers, (v) => `hiddenLayers ${v}`],
    ['maxEpochs', (p) => p.epochs, (v) => `epochs ${v}`],
    ['maxBatchSize', (p) => p.batchSize, (v) => `batchSize ${v}`],
    [
      'maxParameters',
      (p) => denseParameterCount(p, shape?.features ?? 0, shape?.classes ?? 0),
      (v) => `a network of ${v} parameters`,
    ],
  ];
  if (shape) {
    checks.push(['maxRowEpochs', (p) => shape.rows * p.epochs, (v) => `${shape.rows} rows × epochs = ${v}`]);
  }
  for (const [limit, measure, describe] of checks) {
    const first = trials.find((trial) => measure(trial) > limits[limit]);
    if (first) over(limit, describe(measure(first)));
  }
  return problems;
}
