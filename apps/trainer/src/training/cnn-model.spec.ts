import { cnnClassifierSpecProblems, createRng, DEFAULT_CNN_PARAMS, type CnnParams } from '@sepal/ml';
import { trainCnnClassifier, type CnnTrainingInput } from './cnn-model';
import { loadTensorFlow, type TensorFlowHandle } from './tf-backend';

const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);
const IMAGE = { height: 8, width: 8, channels: 1 };

/** Class 0 is bright in the top half, class 1 in the bottom half, with noise: a convolution learns it in a few epochs. */
function images(count: number, random: () => number): { pixels: Uint8Array; labels: number[] } {
  const pixels = new Uint8Array(count * 64);
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    labels.push(label);
    for (let p = 0; p < 64; p++) {
      const top = p < 32;
      const lit = top === (label === 0);
      pixels[i * 64 + p] = Math.floor((lit ? 150 : 0) + random() * 100);
    }
  }
  return { pixels, labels };
}

const PARAMS: CnnParams = {
  ...DEFAULT_CNN_PARAMS,
  convBlocks: 2,
  filters: 4,
  denseUnits: 8,
  batchSize: 16,
  epochs: 6,
  learningRate: 0.01,
  earlyStoppingPatience: 2,
};

describe('trainCnnClassifier', () => {
  let handle: TensorFlowHandle;
  let input: CnnTrainingInput;

  beforeAll(async () => {
    console.log(`cnn-model.spec seed ${SEED} (set SEPAL_TEST_SEED to repeat)`);
    handle = await loadTensorFlow('wasm');
    const random = createRng(SEED);
    const train = images(64, random);
    const validation = images(32, random);
    input = {
      image: IMAGE,
      xTrain: train.pixels,
      yTrain: train.labels,
      xVal: validation.pixels,
      yVal: validation.labels,
      labels: ['top', 'bottom'],
      params: PARAMS,
      seed: SEED,
    };
  });

  it('trains a CNN with batch normalisation on the WASM backend, with metrics per epoch and a valid spec', async () => {
    const epochs: number[] = [];
    const trained = await trainCnnClassifier({ ...input, onEpoch: (m) => void epochs.push(m.epoch) }, handle);
    try {
      expect(handle.backend).toBe('wasm');
      expect(epochs).toEqual(trained.history.map((m) => m.epoch));
      expect(trained.history.length).toBeGreaterThanOrEqual(1);
      expect(trained.bestEpoch).toBeGreaterThanOrEqual(1);
      const best = trained.history[trained.bestEpoch - 1];
      expect(best?.valAccuracy).toBeGreaterThanOrEqual(0.9);
      expect(cnnClassifierSpecProblems(trained.spec)).toEqual([]);
      expect(trained.spec.layers.map((layer) => layer.kind)).toEqual([
        ...['conv2d', 'batchNorm', 'relu', 'maxPool'],
        ...['conv2d', 'batchNorm', 'relu', 'maxPool'],
        ...['flatten', 'dense', 'dense'],
      ]);
      const probabilities = await trained.predictProba(input.xVal);
      expect(probabilities).toHaveLength(32 * 2);
      expect(probabilities[0]! + probabilities[1]!).toBeCloseTo(1, 5);
    } finally {
      trained.dispose();
    }
  });

  it('repeats itself with the same seed', async () => {
    const once = await trainCnnClassifier({ ...input, params: { ...PARAMS, epochs: 2 } }, handle);
    const twice = await trainCnnClassifier({ ...input, params: { ...PARAMS, epochs: 2 } }, handle);
    try {
      expect(twice.history).toEqual(once.history);
    } finally {
      once.dispose();
      twice.dispose();
    }
  });

  it('refuses bad input before training, naming every problem', async () => {
    await expect(
      trainCnnClassifier(
        {
          ...input,
          yTrain: [...input.yTrain.slice(1), 5],
          params: { ...PARAMS, kernelSize: 7, padding: 'valid', batchSize: 0 },
        },
        handle,
      ),
    ).rejects.toThrow(
      /Invalid CNN training input: batchSize must be between 1 and 1024, got 0; the training labels must be class indices 0\.\.1/,
    );
  });
});
