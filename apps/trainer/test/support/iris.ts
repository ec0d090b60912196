import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingParams } from '@sepal/ml';
import type { DenseClassifierTrainingInput } from '../../src/training/training-input';
import { carveStratifiedHoldout } from '../../src/training/validation-split';

export interface LabelledRows {
  x: number[][];
  y: number[];
}

export interface IrisSplits {
  featureNames: string[];
  labels: string[];
  train: LabelledRows;
  validation: LabelledRows;
  test: LabelledRows;
}

const IRIS_PATH = join(__dirname, '../../../../data/iris/iris.data');
export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/** The raw UCI file (errata of samples 35 and 38 left in: they do not matter here). */
export function readIris(): { featureNames: string[]; labels: string[] } & LabelledRows {
  const lines = readFileSync(IRIS_PATH, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  const labels: string[] = [];
  const x: number[][] = [];
  const y: number[] = [];
  for (const line of lines) {
    const fields = line.split(',');
    const name = fields[fields.length - 1];
    if (!labels.includes(name)) labels.push(name);
    x.push(fields.slice(0, -1).map(Number));
    y.push(labels.indexOf(name));
  }
  return { featureNames: IRIS_FEATURES, labels, x, y };
}

/** Seeded stratified 80/20 train/test, then 20 % of train carved out for validation. */
export function splitIris(seed: number): IrisSplits {
  const iris = readIris();
  const { fit: trainAndValidation, holdout: test } = carveStratifiedHoldout(iris.y, 0.2, seed);
  const trainLabels = trainAndValidation.map((row) => iris.y[row]);
  const carved = carveStratifiedHoldout(trainLabels, 0.2, seed + 1);
  const pick = (rows: number[]): LabelledRows => ({
    x: rows.map((row) => iris.x[row]),
    y: rows.map((row) => iris.y[row]),
  });
  return {
    featureNames: iris.featureNames,
    labels: iris.labels,
    train: pick(carved.fit.map((position) => trainAndValidation[position])),
    validation: pick(carved.holdout.map((position) => trainAndValidation[position])),
    test: pick(test),
  };
}

/** A training input on these splits (train → fit rows, validation → validation rows). */
export function irisTrainingInput(
  splits: IrisSplits,
  params: TrainingParams,
  seed: number,
): Omit<DenseClassifierTrainingInput, 'onEpoch' | 'signal' | 'onBatchEnd'> {
  return {
    xTrain: splits.train.x,
    yTrain: splits.train.y,
    xVal: splits.validation.x,
    yVal: splits.validation.y,
    labels: splits.labels,
    featureNames: splits.featureNames,
    params,
    seed,
  };
}
