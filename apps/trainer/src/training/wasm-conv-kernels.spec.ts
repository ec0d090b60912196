import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { createRng } from '@sepal/ml';
import { loadTensorFlow, type TensorFlow } from './tf-backend';
import {
  CONV2D_BACKPROP_FILTER,
  conv2dBackpropFilterConfig,
  registerWasmTrainingKernels,
} from './wasm-conv-kernels';

const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);
const TOLERANCE = 1e-4;

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

const CASES: Case[] = [
  { x: [2, 5, 5, 1], filter: [3, 3, 1, 4], strides: 1, pad: 'same' },
  { x: [3, 7, 6, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [2, 2, 3, 5], strides: 2, pad: 'valid' },
  { x: [1, 9, 7, 4], filter: [3, 2, 4, 2], strides: [2, 3], pad: 'valid' },
  { x: [4, 6, 6, 2], filter: [1, 1, 2, 3], strides: 1, pad: 'valid' },
  { x: [2, 6, 5, 3], filter: [5, 5, 3, 2], strides: [1, 2], pad: 'same' },
];

describe('the WASM training kernels', () => {
  let tf: TensorFlow;
  let random: () => number;

  beforeAll(async () => {
    console.log(`wasm-conv-kernels.spec seed ${SEED} (set SEPAL_TEST_SEED to repeat)`);
    random = createRng(SEED);
    tf = (await loadTensorFlow('wasm')).tf;
    registerWasmTrainingKernels(tf);
  });

  afterEach(async () => {
    await tf.setBackend('wasm');
  });

  function uniform(shape: number[]): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(
      Float32Array.from({ length: size }, () => random() * 2 - 1),
      shape,
    );
  }

  /** Runs `compute` on the wasm backend, then on the CPU backend, and returns the largest absolute difference. */
  async function onBothBackends(compute: () => Tensor[]): Promise<{ diff: number; shapes: number[][] }> {
    await tf.setBackend('wasm');
    const onWasm = tf.tidy(compute).map((tensor) => ({ shape: tensor.shape, values: tensor.dataSync() }));
    await tf.setBackend('cpu');
    const onCpu = tf.tidy(compute).map((tensor) => tensor.dataSync());
    let diff = 0;
    onWasm.forEach(({ values }, index) => {
      const reference = onCpu[index] as Float32Array;
      expect(values.length).toBe(reference.length);
      values.forEach((value, i) => {
        diff = Math.max(diff, Math.abs(value - (reference[i] as number)));
      });
    });
    return { diff, shapes: onWasm.map(({ shape }) => shape) };
  }

  it.each(CASES)(
    'computes the filter gradient like the CPU backend: %j',
    async ({ x, filter, strides, pad }) => {
      const input = uniform(x);
      const outShape = tf.tidy(
        () => tf.conv2d(input as Tensor4D, tf.zeros(filter) as Tensor4D, strides, pad).shape,
      );
      const dy = uniform(outShape);
      const { diff, shapes } = await onBothBackends(() => [
        tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x: input, dy }, {
          strides,
          pad,
          dataFormat: 'NHWC',
          filterShape: filter,
        } as never) as Tensor,
      ]);
      expect(shapes).toEqual([filter]);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
      tf.dispose([input, dy]);
    },
  );

  it('splits a batch whose patch matrix is over the limit into slices, with the same result', async () => {
    const input = uniform([5, 6, 6, 2]);
    const dy = uniform([5, 3, 3, 3]);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] } as never;
    // Each image has 9 patch rows of 18 floats: a limit of 400 floats gives slices of 2, 2 and 1 images.
    tf.unregisterKernel(CONV2D_BACKPROP_FILTER, 'wasm');
    tf.registerKernel(conv2dBackpropFilterConfig(tf, 400));
    try {
      const { diff } = await onBothBackends(() => [
        tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x: input, dy }, attrs) as Tensor,
      ]);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      tf.unregisterKernel(CONV2D_BACKPROP_FILTER, 'wasm');
      registerWasmTrainingKernels(tf);
    }
    tf.dispose([input, dy]);
  });

  it('refuses dilations and the NCHW layout with a clear error', async () => {
    await tf.setBackend('wasm');
    const input = uniform([1, 4, 4, 1]);
    const dy = uniform([1, 4, 4, 1]);
    const run = (attrs: object) => () =>
      tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x: input, dy }, {
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [1, 1, 1, 1],
        ...attrs,
      } as never);
    expect(run({ dilations: 2 })).toThrow(/dilation rates other than 1 are not supported, got 2/);
    expect(run({ dataFormat: 'NCHW' })).toThrow(/only the NHWC layout is supported/);
    tf.dispose([input, dy]);
  });

  it('gives a small CNN the same gradients for every weight and the input as the CPU backend', async () => {
    const x = uniform([3, 9, 9, 2]);
    const w1 = uniform([3, 3, 2, 4]);
    const w2 = uniform([2, 2, 4, 3]);
    const gamma = uniform([4]);
    const beta = uniform([4]);
    const dense = uniform([27, 5]);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5);
    const loss = (input: Tensor, k1: Tensor, k2: Tensor, g: Tensor, b: Tensor, d: Tensor) => {
      const conv = tf.conv2d(input as Tensor4D, k1 as Tensor4D, 2, 'same');
      const { mean, variance } = tf.moments(conv, [0, 1, 2]);
      const normalised = tf.batchNorm(conv, mean, variance, b, g, 1e-3);
      const pooled = tf.maxPool(tf.relu(normalised) as Tensor4D, 2, 1, 'valid');
      const conv2 = tf.conv2d(pooled, k2 as Tensor4D, 1, 'valid');
      const averaged = tf.avgPool(conv2, 2, 1, 'same');
      const logits = tf.matMul(tf.reshape(averaged, [3, -1]), d);
      return tf.losses.softmaxCrossEntropy(labels, logits);
    };
    const { diff, shapes } = await onBothBackends(() =>
      tf.grads(loss as (...inputs: Tensor[]) => Tensor)([x, w1, w2, gamma, beta, dense]),
    );
    expect(shapes).toEqual([x.shape, w1.shape, w2.shape, gamma.shape, beta.shape, dense.shape]);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
    tf.dispose([x, w1, w2, gamma, beta, dense, labels]);
  });
});
