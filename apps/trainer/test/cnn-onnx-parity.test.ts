/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Tensor2D } from '@tensorflow/tfjs';
import {
  cnnArchitecture,
  createRng,
  DEFAULT_CNN_PARAMS,
  exportCnnClassifierToOnnx,
  type CnnParams,
  type ImageShape,
} from '@sepal/ml';
import {
  checkWithOnnx,
  itWithPythonOnnx,
  pythonOnnxAvailable,
} from '../../../libs/ml/test/fixtures/python-onnx';
import { extractCnnLayers } from '../src/training/cnn-extraction';
import { buildCnnModel, scaledImages, trainCnnClassifier } from '../src/training/cnn-model';
import { loadTensorFlow, type TensorFlowHandle } from '../src/training/tf-backend';

const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);
const TOLERANCE = 1e-4;
const IMAGES = 40;

interface Case {
  name: string;
  image: ImageShape;
  params: CnnParams;
  classes: number;
}

const CASES: Case[] = [
  {
    name: "28x28 grey, 'same', batch norm, dense head",
    image: { height: 28, width: 28, channels: 1 },
    params: { ...DEFAULT_CNN_PARAMS, filters: 4, denseUnits: 16 },
    classes: 10,
  },
  {
    name: "12x16 RGB, 'valid', biases, no dense head",
    image: { height: 12, width: 16, channels: 3 },
    params: {
      ...DEFAULT_CNN_PARAMS,
      convBlocks: 2,
      filters: 3,
      padding: 'valid',
      batchNorm: false,
      denseUnits: 0,
    },
    classes: 3,
  },
  {
    name: "7x11 RGB, 5x5 'same', batch norm, odd sizes",
    image: { height: 7, width: 11, channels: 3 },
    params: { ...DEFAULT_CNN_PARAMS, convBlocks: 2, filters: 2, kernelSize: 5, denseUnits: 5 },
    classes: 4,
  },
];

function randomPixels(random: () => number, count: number, image: ImageShape): Uint8Array {
  return Uint8Array.from({ length: count * image.height * image.width * image.channels }, () =>
    Math.floor(random() * 256),
  );
}

async function runOnnx(bytes: Uint8Array, pixels: Uint8Array, image: ImageShape, uint8: boolean) {
  const session = await InferenceSession.create(bytes);
  try {
    const dims = [
      pixels.length / (image.height * image.width * image.channels),
      image.height,
      image.width,
      image.channels,
    ];
    const features = uint8
      ? new OrtTensor('uint8', pixels, dims)
      : new OrtTensor('float32', Float32Array.from(pixels), dims);
    const outputs = await session.run({ features });
    return {
      probabilities: outputs['probabilities']!.data as Float32Array,
      labels: Array.from(outputs['label']!.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

function argmaxRows(probabilities: Float32Array, classes: number): number[] {
  const labels: number[] = [];
  for (let row = 0; row < probabilities.length / classes; row++) {
    const slice = Array.from(probabilities.subarray(row * classes, (row + 1) * classes));
    labels.push(slice.indexOf(Math.max(...slice)));
  }
  return labels;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - (b[i] as number))), 0);
}

describe('CNN export parity: TensorFlow.js against onnxruntime-node', () => {
  const python = pythonOnnxAvailable();
  let handle: TensorFlowHandle;

  beforeAll(async () => {
    console.log(`cnn-onnx-parity seed ${SEED} (set SEPAL_TEST_SEED to repeat)`);
    handle = await loadTensorFlow('wasm');
  });

  it.each(CASES)('$name: random weights and batch-norm statistics', async ({ image, params, classes }) => {
    const { tf } = handle;
    const random = createRng(SEED);
    const { model, optimizer } = buildCnnModel(tf, cnnArchitecture(params), image, classes, params, random);
    try {
      // Every weight random, variances positive, so a wrong layout or a default epsilon shows.
      for (const layer of model.layers) {
        const isBatchNorm = layer.getClassName() === 'BatchNormalization';
        layer.setWeights(
          layer.getWeights().map((weight, index) =>
            tf.tensor(
              Float32Array.from({ length: weight.size }, () =>
                isBatchNorm && index === 3 ? 0.05 + random() * 2 : random() * 1.2 - 0.6,
              ),
              weight.shape,
            ),
          ),
        );
      }
      const spec = {
        input: image,
        scale: 255,
        labels: Array.from({ length: classes }, (_, i) => `c${i}`),
        layers: extractCnnLayers(model),
      };
      const pixels = randomPixels(random, IMAGES, image);
      const expected = Float32Array.from(
        tf.tidy(() => (model.predict(scaledImages(tf, pixels, image)) as Tensor2D).dataSync()),
      );
      for (const inputType of ['float32', 'uint8'] as const) {
        const bytes = exportCnnClassifierToOnnx(spec, { model_name: 'cnn' }, { inputType });
        const actual = await runOnnx(bytes, pixels, image, inputType === 'uint8');
        expect(maxDifference(actual.probabilities, expected)).toBeLessThanOrEqual(TOLERANCE);
        expect(actual.labels).toEqual(argmaxRows(expected, classes));
      }
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  });

  it('a CNN trained on WASM answers the same in onnxruntime on its test images', async () => {
    const random = createRng(SEED + 1);
    const image = { height: 10, width: 10, channels: 1 };
    const labelOf = (pixels: Uint8Array, i: number) => {
      let left = 0;
      for (let p = 0; p < 100; p++) if (p % 10 < 5) left += pixels[i * 100 + p] as number;
      return left > 100 * 255 * 0.25 ? 1 : 0;
    };
    const train = randomPixels(random, 96, image);
    const validation = randomPixels(random, 32, image);
    const test = randomPixels(random, IMAGES, image);
    const trained = await trainCnnClassifier(
      {
        image,
        xTrain: train,
        yTrain: Array.from({ length: 96 }, (_, i) => labelOf(train, i)),
        xVal: validation,
        yVal: Array.from({ length: 32 }, (_, i) => labelOf(validation, i)),
        labels: ['right', 'left'],
        params: { ...DEFAULT_CNN_PARAMS, filters: 4, denseUnits: 8, epochs: 3, batchSize: 16 },
        seed: SEED,
      },
      handle,
    );
    try {
      const expected = await trained.predictProba(test);
      const bytes = exportCnnClassifierToOnnx(trained.spec, { model_name: 'cnn' }, { inputType: 'uint8' });
      const actual = await runOnnx(bytes, test, image, true);
      expect(maxDifference(actual.probabilities, expected)).toBeLessThanOrEqual(TOLERANCE);
      expect(actual.labels).toEqual(argmaxRows(expected, 2));
    } finally {
      trained.dispose();
    }
  });

  itWithPythonOnnx(python)('passes the ONNX checker (full_check) with both input types', () => {
    const random = createRng(SEED);
    const { tf } = handle;
    const image = { height: 12, width: 12, channels: 1 };
    const params = { ...DEFAULT_CNN_PARAMS, filters: 2, denseUnits: 4 };
    const { model, optimizer } = buildCnnModel(tf, cnnArchitecture(params), image, 3, params, random);
    try {
      const spec = { input: image, scale: 255, labels: ['a', 'b', 'c'], layers: extractCnnLayers(model) };
      const models = (['float32', 'uint8'] as const).map((inputType) =>
        exportCnnClassifierToOnnx(spec, { model_name: 'cnn' }, { inputType }),
      );
      const checked = checkWithOnnx(models, {
        input: 'model.graph.input[0].type.tensor_type.elem_type',
        outputs: '[o.name for o in model.graph.output]',
        epsilon:
          '[a.f for n in model.graph.node if n.op_type == "BatchNormalization" for a in n.attribute if a.name == "epsilon"]',
      });
      expect(checked.map((result) => result['input'])).toEqual([1, 2]);
      for (const result of checked) {
        expect(result['outputs']).toEqual(['probabilities', 'label']);
        expect((result['epsilon'] as number[]).map((value) => value.toFixed(6))).toEqual([
          '0.001000',
          '0.001000',
        ]);
      }
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  });
});
