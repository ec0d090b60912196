/**
 * Training benchmark: `npm run bench:train [-- --backend auto|node|wasm|cpu]`.
 * Times the default grid search on Iris and the epoch time on a synthetic 100,000 x 10 dataset.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRng, DEFAULT_GRID, DEFAULT_TRAINING_PARAMS, expandGrid, type TrainingParams } from '@sepal/ml';
import {
  carveStratifiedHoldout,
  loadTensorFlow,
  trainDenseClassifier,
  type BackendPreference,
  type TensorFlowHandle,
} from '../apps/trainer/src';

import { printSettings } from './settings';

const SEED = 42;

interface Dataset {
  x: number[][];
  y: number[];
}

export interface IrisGridResult {
  trials: number;
  totalSeconds: number;
  secondsPerTrial: number;
  bestParams: Pick<TrainingParams, 'learningRate' | 'hiddenUnits'>;
  bestValAccuracy: number;
  bestTestAccuracy: number;
}

export interface SyntheticEpochResult {
  rows: number;
  features: number;
  batchSize: number;
  epochSeconds: number[];
  secondsPerEpoch: number;
}

export function readIris(path: string): Dataset & { labels: string[] } {
  const labels: string[] = [];
  const data: Dataset = { x: [], y: [] };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(',');
    const label = fields[fields.length - 1];
    if (!labels.includes(label)) labels.push(label);
    data.x.push(fields.slice(0, -1).map(Number));
    data.y.push(labels.indexOf(label));
  }
  return { ...data, labels };
}

function pick(data: Dataset, rows: number[]): Dataset {
  return { x: rows.map((row) => data.x[row]), y: rows.map((row) => data.y[row]) };
}

/** Test split 20 %, then validation 20 % of the rest; the best trial by validation accuracy meets the test once. */
export async function benchIrisGrid(handle: TensorFlowHandle, irisPath: string): Promise<IrisGridResult> {
  const iris = readIris(irisPath);
  const trainTest = carveStratifiedHoldout(iris.y, 0.2, SEED);
  const rest = pick(iris, trainTest.fit);
  const test = pick(iris, trainTest.holdout);
  const trainVal = carveStratifiedHoldout(rest.y, 0.2, SEED + 1);
  const train = pick(rest, trainVal.fit);
  const validation = pick(rest, trainVal.holdout);
  const grid = expandGrid(DEFAULT_GRID);

  const started = performance.now();
  let best:
    { params: TrainingParams; valAccuracy: number; valLoss: number; testAccuracy: number } | undefined;
  for (const params of grid) {
    const trained = await trainDenseClassifier(
      {
        xTrain: train.x,
        yTrain: train.y,
        xVal: validation.x,
        yVal: validation.y,
        labels: iris.labels,
        featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
        params,
        seed: SEED,
      },
      handle,
    );
    const { valAccuracy, valLoss } = trained.history[trained.bestEpoch - 1];
    if (
      !best ||
      valAccuracy > best.valAccuracy ||
      (valAccuracy === best.valAccuracy && valLoss < best.valLoss)
    ) {
      best = {
        params,
        valAccuracy,
        valLoss,
        testAccuracy: accuracy(await trained.predictProba(test.x), test.y),
      };
    }
    trained.dispose();
  }
  const totalSeconds = (performance.now() - started) / 1000;
  if (!best) throw new Error('the grid is empty');
  return {
    trials: grid.length,
    totalSeconds,
    secondsPerTrial: totalSeconds / grid.length,
    bestParams: { learningRate: best.params.learningRate, hiddenUnits: best.params.hiddenUnits },
    bestValAccuracy: best.valAccuracy,
    bestTestAccuracy: best.testAccuracy,
  };
}

function accuracy(probabilities: number[][], y: number[]): number {
  const correct = probabilities.filter((row, index) => row.indexOf(Math.max(...row)) === y[index]).length;
  return correct / y.length;
}

/** Three Gaussian blobs in `features` dimensions, drawn from a seeded generator. */
export function syntheticBlobs(rows: number, features: number, classes: number, seed: number): Dataset {
  const random = createRng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: classes }, () =>
    Array.from({ length: features }, () => 2 * gaussian()),
  );
  const data: Dataset = { x: [], y: [] };
  for (let row = 0; row < rows; row++) {
    const label = row % classes;
    data.y.push(label);
    data.x.push(centres[label].map((centre) => centre + 2 * gaussian()));
  }
  return data;
}

export async function benchSyntheticEpochs(handle: TensorFlowHandle): Promise<SyntheticEpochResult> {
  const rows = 100_000;
  const features = 10;
  const batchSize = 256;
  const data = syntheticBlobs(rows, features, 3, SEED);
  const validationRows = rows / 10;
  const epochSeconds: number[] = [];
  let epochStarted = performance.now();
  const trained = await trainDenseClassifier(
    {
      xTrain: data.x.slice(validationRows),
      yTrain: data.y.slice(validationRows),
      xVal: data.x.slice(0, validationRows),
      yVal: data.y.slice(0, validationRows),
      labels: ['a', 'b', 'c'],
      featureNames: Array.from({ length: features }, (_, index) => `f${index}`),
      params: { ...DEFAULT_TRAINING_PARAMS, epochs: 2, batchSize, earlyStoppingPatience: 0 },
      seed: SEED,
      onEpoch: () => {
        const now = performance.now();
        epochSeconds.push((now - epochStarted) / 1000);
        epochStarted = now;
      },
    },
    handle,
  );
  trained.dispose();
  // The first "epoch" also covers standardising and uploading the data: the second is the steady state.
  return { rows, features, batchSize, epochSeconds, secondsPerEpoch: epochSeconds[epochSeconds.length - 1] };
}

function parseBackend(argv: string[]): BackendPreference {
  const value = argv[argv.indexOf('--backend') + 1];
  if (!argv.includes('--backend')) return 'auto';
  if (value === 'auto' || value === 'node' || value === 'wasm' || value === 'cpu') return value;
  throw new Error(`--backend must be auto, node, wasm or cpu, got ${value}`);
}

function printTable(rows: [string, string][]): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
}

async function main(): Promise<void> {
  printSettings(
    'bench:train',
    {},
    "the trainer's own functions in this process, the default grid and training parameters",
  );
  const handle = await loadTensorFlow(parseBackend(process.argv.slice(2)), (message) => console.log(message));
  const iris = await benchIrisGrid(handle, resolve(process.env.IRIS_PATH ?? 'data/iris/iris.data'));
  const synthetic = await benchSyntheticEpochs(handle);
  const seconds = (value: number) => `${value.toFixed(2)} s`;
  printTable([
    ['backend', handle.backend],
    [`iris grid (${iris.trials} trials) total`, seconds(iris.totalSeconds)],
    ['iris seconds per trial', seconds(iris.secondsPerTrial)],
    [
      'iris best params',
      `learningRate ${iris.bestParams.learningRate}, hiddenUnits ${iris.bestParams.hiddenUnits}`,
    ],
    ['iris best val accuracy', iris.bestValAccuracy.toFixed(4)],
    ['iris its test accuracy', iris.bestTestAccuracy.toFixed(4)],
    [`synthetic ${synthetic.rows} x ${synthetic.features}, batch ${synthetic.batchSize}`, ''],
    ['  epoch times', synthetic.epochSeconds.map(seconds).join(', ')],
    ['  seconds per epoch', seconds(synthetic.secondsPerEpoch)],
  ]);
  console.log(JSON.stringify({ backend: handle.backend, iris, synthetic }));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
