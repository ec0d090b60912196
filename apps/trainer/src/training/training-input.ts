import {
  paramValueProblem,
  TRAINING_PARAM_NAMES,
  type FeaturePreprocessing,
  type TrainingParams,
} from '@sepal/ml';

export interface EpochMetrics {
  /** 1 for the first epoch. */
  epoch: number;
  /** Mean training loss over the epoch's batches, L2 penalty included. */
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  /** Regression only: the validation RMSE in the target's units (the accuracies are then 0). */
  valRmse?: number;
}

export interface DenseClassifierTrainingInput {
  /** 'classification' (the default): softmax over `labels`; 'regression': one linear output, squared-error loss. */
  task?: 'classification' | 'regression';
  /**
   * The preprocessing the rows were already encoded with (imputation, standardisation, one-hot): the trial then
   * standardises nothing more and its spec carries this preprocessing, so the export takes raw cells.
   */
  preprocessing?: FeaturePreprocessing;
  xTrain: number[][];
  /** Class indices into `labels` (classification) or target values (regression). */
  yTrain: number[];
  xVal: number[][];
  yVal: number[];
  labels: string[];
  featureNames: string[];
  params: TrainingParams;
  seed: number;
  /** Awaited before the next epoch starts. */
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  /** Aborting rejects the training with the signal's reason, within a batch or so. */
  signal?: AbortSignal;
  /** Called after every batch, before the signal is checked (e.g. a memory guard that aborts it). */
  onBatchEnd?: () => void;
}

/** Throws one error listing every problem, before any tensor is allocated. */
export function assertValidTrainingInput(input: DenseClassifierTrainingInput): void {
  const { xTrain, yTrain, xVal, yVal, labels, featureNames, params } = input;
  const problems: string[] = [];
  const regression = input.task === 'regression';
  if (!regression && labels.length < 2) problems.push(`at least 2 labels are needed, got ${labels.length}`);
  if (xTrain.length === 0) problems.push('xTrain is empty');
  if (xVal.length === 0) problems.push('xVal is empty: early stopping and model selection need it');
  if (xTrain.length !== yTrain.length)
    problems.push(`xTrain has ${xTrain.length} rows, yTrain ${yTrain.length}`);
  if (xVal.length !== yVal.length) problems.push(`xVal has ${xVal.length} rows, yVal ${yVal.length}`);
  for (const [name, rows] of [
    ['xTrain', xTrain],
    ['xVal', xVal],
  ] as const) {
    const row = rows.findIndex((values) => values.length !== featureNames.length);
    if (row >= 0) {
      problems.push(`${name} row ${row} has ${rows[row].length} values, expected ${featureNames.length}`);
    }
  }
  for (const [name, targets] of [
    ['yTrain', yTrain],
    ['yVal', yVal],
  ] as const) {
    if (regression) {
      const row = targets.findIndex((y) => !Number.isFinite(y));
      if (row >= 0) problems.push(`${name}[${row}] = ${targets[row]} is not a finite target value`);
      continue;
    }
    const row = targets.findIndex((y) => !Number.isInteger(y) || y < 0 || y >= labels.length);
    if (row >= 0)
      problems.push(`${name}[${row}] = ${targets[row]} is not a class index below ${labels.length}`);
  }
  for (const name of TRAINING_PARAM_NAMES) {
    const problem = paramValueProblem(name, params[name]);
    if (problem !== undefined) problems.push(problem);
  }
  if (!Number.isFinite(input.seed)) problems.push(`seed ${input.seed} is not a finite number`);
  if (problems.length > 0) {
    throw new Error(`trainDenseClassifier: ${problems.join('; ')}`);
  }
}
