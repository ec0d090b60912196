import {
  DEFAULT_TRAINING_PARAMS,
  predictProba,
  type DenseClassifierSpec,
  type TrainingParams,
} from '@sepal/ml';
import {
  trainDenseClassifier,
  type DenseClassifierTrainingInput,
  type EpochMetrics,
} from './dense-classifier';
import { loadTensorFlow, type TensorFlowHandle } from './tf-backend';
import { irisTrainingInput, splitIris, type LabelledRows } from '../../test/support/iris';

const iris = splitIris(2024);
const PARAMS: TrainingParams = { ...DEFAULT_TRAINING_PARAMS, epochs: 60 };

function irisInput(overrides: Partial<DenseClassifierTrainingInput> = {}): DenseClassifierTrainingInput {
  return { ...irisTrainingInput(iris, PARAMS, 7), ...overrides };
}

function argmax(row: number[]): number {
  return row.indexOf(Math.max(...row));
}

function accuracy(probabilities: number[][], { y }: LabelledRows): number {
  return probabilities.filter((row, index) => argmax(row) === y[index]).length / y.length;
}

function meanCrossEntropy(probabilities: number[][], y: number[]): number {
  return -probabilities.reduce((sum, row, index) => sum + Math.log(row[y[index]]), 0) / y.length;
}

function maxAbsDifference(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((value, j) => Math.abs(value - b[i][j]))));
}

describe('trainDenseClassifier', () => {
  let handle: TensorFlowHandle;
  let first: Awaited<ReturnType<typeof trainDenseClassifier>>;
  let second: Awaited<ReturnType<typeof trainDenseClassifier>>;
  const reported: EpochMetrics[] = [];

  beforeAll(async () => {
    handle = await loadTensorFlow('auto');
    first = await trainDenseClassifier(
      irisInput({
        onEpoch: async (metrics) => {
          await new Promise((resolve) => setImmediate(resolve));
          reported.push(metrics);
        },
      }),
      handle,
    );
    second = await trainDenseClassifier(irisInput(), handle);
  });

  afterAll(() => {
    first.dispose();
    second.dispose();
  });

  it('classifies held-out Iris rows with at least 93 % accuracy', async () => {
    expect(accuracy(await first.predictProba(iris.test.x), iris.test)).toBeGreaterThanOrEqual(0.93);
  });

  it('reports every epoch to onEpoch, in order, with finite metrics', () => {
    expect(reported).toEqual(first.history);
    expect(reported.map((metrics) => metrics.epoch)).toEqual(reported.map((_, index) => index + 1));
    expect(reported.flatMap(Object.values).every(Number.isFinite)).toBe(true);
    expect(first.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(first.bestEpoch).toBeLessThanOrEqual(first.history.length);
  });

  it('repeats a run exactly with the same seed on the same backend', async () => {
    expect(second.history).toEqual(first.history);
    expect(second.spec).toEqual(first.spec);
    const other = await trainDenseClassifier(
      irisInput({ seed: 8, params: { ...PARAMS, epochs: 2 } }),
      handle,
    );
    expect(other.spec.layers[0].kernel).not.toEqual(first.spec.layers[0].kernel);
    other.dispose();
  });

  it('extracts weights that the reference forward pass turns into the same probabilities as tf', async () => {
    const rows = [...iris.test.x, ...iris.train.x];
    const reference = predictProba(first.spec as DenseClassifierSpec, rows);
    const fromTf = await first.predictProba(rows);
    expect(maxAbsDifference(reference, fromTf)).toBeLessThan(1e-5);
    expect(first.spec).toMatchObject({ labels: iris.labels, featureNames: iris.featureNames });
    expect(first.spec.layers.map(({ inputs, units, activation }) => [inputs, units, activation])).toEqual([
      [4, 16, 'relu'],
      [16, 3, 'softmax'],
    ]);
  });

  it('stops early when the validation loss rises, keeping the weights of the best epoch', async () => {
    // Validation labels rotated by one class: the better the model learns Iris, the worse it does on them.
    const wrongLabels = iris.validation.y.map((label) => (label + 1) % iris.labels.length);
    const patience = 3;
    const result = await trainDenseClassifier(
      irisInput({ yVal: wrongLabels, params: { ...PARAMS, earlyStoppingPatience: patience } }),
      handle,
    );
    const best = result.history[result.bestEpoch - 1];

    expect(result.stoppedEarly).toBe(true);
    expect(result.history.length).toBe(result.bestEpoch + patience);
    expect(result.history.length).toBeLessThan(PARAMS.epochs);
    expect(result.history.at(-1)?.valLoss).toBeGreaterThan(best.valLoss);
    const restoredLoss = meanCrossEntropy(await result.predictProba(iris.validation.x), wrongLabels);
    expect(restoredLoss).toBeCloseTo(best.valLoss, 4);
    result.dispose();
  });

  it('runs to the last epoch when patience is 0', async () => {
    const result = await trainDenseClassifier(
      irisInput({ params: { ...PARAMS, epochs: 5, earlyStoppingPatience: 0 } }),
      handle,
    );
    expect(result.stoppedEarly).toBe(false);
    expect(result.history).toHaveLength(5);
    result.dispose();
  });

  it('leaves no tensor behind after a training, an abort or a divergence', async () => {
    const { tf } = handle;
    const before = tf.memory().numTensors;

    const result = await trainDenseClassifier(irisInput({ params: { ...PARAMS, epochs: 3 } }), handle);
    await result.predictProba(iris.test.x);
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const controller = new AbortController();
    const aborted = trainDenseClassifier(
      irisInput({
        signal: controller.signal,
        onEpoch: ({ epoch }) => (epoch === 2 ? controller.abort() : undefined),
      }),
      handle,
    );
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);

    const diverging = trainDenseClassifier(
      irisInput({ params: { ...PARAMS, optimizer: 'sgd', learningRate: 1e30, hiddenUnits: 64 } }),
      handle,
    );
    await expect(diverging).rejects.toThrow(/^Training diverged at epoch \d+/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses inconsistent input with every problem listed', async () => {
    const input = irisInput({
      xVal: [[1, 2, 3]],
      yVal: [5],
      params: { ...PARAMS, batchSize: 0 },
    });
    await expect(trainDenseClassifier(input, handle)).rejects.toThrow(
      /xVal row 0 has 3 values, expected 4.*yVal\[0\] = 5 is not a class index below 3.*batchSize/,
    );
  });

  it('refuses a non-finite feature without leaving tensors behind', async () => {
    const before = handle.tf.memory().numTensors;
    const input = irisInput({ xVal: [[1, 2, Number.NaN, 4], ...iris.validation.x.slice(1)] });
    await expect(trainDenseClassifier(input, handle)).rejects.toThrow(
      'row 0, column 2 is not a finite number',
    );
    expect(handle.tf.memory().numTensors).toBe(before);
  });
});
