/**
 * Image quality benchmark: `npm run bench:images` (scripts/ensure-test-tools.sh installs the data:
 * apt-get install -y dataset-fashion-mnist).
 *
 * Reads Fashion-MNIST's gzipped IDX files from /usr/share/datasets/fashion-mnist, trains the CNN family's default
 * point (DEFAULT_CNN_PARAMS) on the WASM backend in this process (no worker, no services) with a stratified 10 %
 * validation split carved from the training images and early stopping on it, then prints the accuracy on the
 * 10,000-image test set, the training time, and the exported ONNX model's parity with TensorFlow.js and its throughput
 * in onnxruntime-node in batches of 64. Settings (each printed when changed): BENCH_TRAIN_IMAGES (default all 60,000),
 * BENCH_EPOCHS (default the params' epochs), BENCH_SEED (default 1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import {
  DEFAULT_CNN_PARAMS,
  exportCnnClassifierToOnnx,
  FASHION_MNIST_CLASSES,
  parseIdx,
  type CnnParams,
} from '@sepal/ml';
import { carveStratifiedHoldout, loadTensorFlow, trainCnnClassifier } from '../apps/trainer/src';
import { runBench } from './support';

const DATA = '/usr/share/datasets/fashion-mnist';
const CLASSES = [...FASHION_MNIST_CLASSES];
const IMAGE = { height: 28, width: 28, channels: 1 };
const PIXELS = 28 * 28;
const SERVING_BATCH = 64;

function setting(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
  console.log(`setting ${name}=${number}`);
  return number;
}

function readSplit(prefix: 'train' | 't10k'): { pixels: Uint8Array; labels: number[] } {
  const images = parseIdx(readFileSync(join(DATA, `${prefix}-images-idx3-ubyte.gz`)), `${prefix} images`);
  const labels = parseIdx(readFileSync(join(DATA, `${prefix}-labels-idx1-ubyte.gz`)), `${prefix} labels`);
  if (images.dims.slice(1).join('x') !== '28x28' || images.dims[0] !== labels.dims[0]) {
    throw new Error(
      `${prefix}: expected N 28x28 images and N labels, got [${images.dims}] and [${labels.dims}]`,
    );
  }
  return { pixels: images.values, labels: Array.from(labels.values) };
}

function gather(pixels: Uint8Array, rows: readonly number[]): Uint8Array {
  const out = new Uint8Array(rows.length * PIXELS);
  rows.forEach((row, i) => out.set(pixels.subarray(row * PIXELS, (row + 1) * PIXELS), i * PIXELS));
  return out;
}

function argmax(values: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) {
    if ((values[row * classes + k] as number) > (values[row * classes + best] as number)) best = k;
  }
  return best;
}

async function main(): Promise<void> {
  const trainImages = setting('BENCH_TRAIN_IMAGES');
  const epochs = setting('BENCH_EPOCHS');
  const seed = setting('BENCH_SEED') ?? 1;
  const params: CnnParams = { ...DEFAULT_CNN_PARAMS, ...(epochs ? { epochs } : {}) };
  console.log(`CNN params: ${JSON.stringify(params)}`);

  const train = readSplit('train');
  const test = readSplit('t10k');
  const used = Math.min(trainImages ?? train.labels.length, train.labels.length);
  const labels = train.labels.slice(0, used);
  const { fit, holdout } = carveStratifiedHoldout(labels, 0.1, seed);
  console.log(
    `Fashion-MNIST: ${fit.length} training, ${holdout.length} validation, ${test.labels.length} test images`,
  );

  const handle = await loadTensorFlow('wasm', (message) => console.log(message));
  const started = performance.now();
  const trained = await trainCnnClassifier(
    {
      image: IMAGE,
      xTrain: gather(train.pixels, fit),
      yTrain: fit.map((row) => labels[row] as number),
      xVal: gather(train.pixels, holdout),
      yVal: holdout.map((row) => labels[row] as number),
      labels: CLASSES,
      params,
      seed,
      onEpoch: (m) =>
        console.log(
          `epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(4)} ` +
            `val_loss ${m.valLoss.toFixed(4)} val_acc ${m.valAccuracy.toFixed(4)} ` +
            `(${((performance.now() - started) / 1000).toFixed(0)} s)`,
        ),
    },
    handle,
  );
  const trainingSeconds = (performance.now() - started) / 1000;
  try {
    const probabilities = await trained.predictProba(test.pixels);
    const count = test.labels.length;
    let correct = 0;
    for (let i = 0; i < count; i++)
      if (argmax(probabilities, i, CLASSES.length) === test.labels[i]) correct++;
    console.log(
      `training: ${trainingSeconds.toFixed(0)} s on ${handle.backend}, ${trained.history.length} epochs ` +
        `(best ${trained.bestEpoch}${trained.stoppedEarly ? ', stopped early' : ''})`,
    );
    console.log(`test accuracy (TensorFlow.js): ${(correct / count).toFixed(4)} on ${count} images`);

    const bytes = exportCnnClassifierToOnnx(
      trained.spec,
      { model_name: 'fashion-mnist' },
      { inputType: 'uint8' },
    );
    const session = await InferenceSession.create(bytes);
    try {
      const onnx = new Float32Array(count * CLASSES.length);
      let servedCorrect = 0;
      const servingStarted = performance.now();
      for (let first = 0; first < count; first += SERVING_BATCH) {
        const n = Math.min(SERVING_BATCH, count - first);
        const features = new OrtTensor('uint8', test.pixels.subarray(first * PIXELS, (first + n) * PIXELS), [
          n,
          28,
          28,
          1,
        ]);
        const outputs = await session.run({ features });
        onnx.set(outputs['probabilities']!.data as Float32Array, first * CLASSES.length);
        const served = outputs['label']!.data as BigInt64Array;
        served.forEach((label, i) => (servedCorrect += Number(label) === test.labels[first + i] ? 1 : 0));
      }
      const servingSeconds = (performance.now() - servingStarted) / 1000;
      const diff = onnx.reduce(
        (max, value, i) => Math.max(max, Math.abs(value - (probabilities[i] as number))),
        0,
      );
      let mismatches = 0;
      for (let i = 0; i < count; i++) {
        if (argmax(onnx, i, CLASSES.length) !== argmax(probabilities, i, CLASSES.length)) mismatches++;
      }
      console.log(
        `ONNX model: ${(bytes.length / 1024).toFixed(0)} KiB, test accuracy ${(servedCorrect / count).toFixed(4)}`,
      );
      console.log(
        `ONNX parity with TensorFlow.js: max |diff| ${diff.toExponential(2)}, ${mismatches} label mismatches`,
      );
      console.log(
        `ONNX serving (onnxruntime-node, in process, batches of ${SERVING_BATCH}): ` +
          `${(count / servingSeconds).toFixed(0)} images/s`,
      );
    } finally {
      await session.release();
    }
  } finally {
    trained.dispose();
  }
}

runBench(main, { stack: true });
