import type { CnnClassifierSpec, CnnLayerSpec, ImageShape } from './cnn-spec';

/**
 * An untrained CNN classifier with seeded random weights (He-like scale), `blocks` x [Conv 3x3 'same' + bias ->
 * ReLU -> MaxPool 2x2], then a softmax over `labels`: for tests and benchmarks of serving, where the weights do not
 * matter but the shapes and the cost do. `random` gives numbers in [0, 1) (createRng).
 */
export function randomCnnClassifierSpec(
  input: ImageShape,
  labels: string[],
  random: () => number,
  { blocks = 2, filters = 8 }: { blocks?: number; filters?: number } = {},
): CnnClassifierSpec {
  const uniform = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  const layers: CnnLayerSpec[] = [];
  let [height, width, channels] = [input.height, input.width, input.channels];
  for (let block = 0; block < blocks; block++) {
    const out = filters * 2 ** block;
    layers.push(
      {
        kind: 'conv2d',
        kernel: uniform(9 * channels * out, Math.sqrt(6 / (9 * channels))),
        bias: uniform(out, 0.05),
        kernelHeight: 3,
        kernelWidth: 3,
        inChannels: channels,
        filters: out,
        strides: [1, 1],
        padding: 'same',
      },
      { kind: 'relu' },
      { kind: 'maxPool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    );
    [height, width, channels] = [Math.floor(height / 2), Math.floor(width / 2), out];
  }
  const inputs = height * width * channels;
  layers.push(
    { kind: 'flatten' },
    {
      kind: 'dense',
      kernel: uniform(inputs * labels.length, Math.sqrt(6 / inputs)),
      bias: uniform(labels.length, 0.05),
      inputs,
      units: labels.length,
      activation: 'softmax',
    },
  );
  return { input, scale: 255, labels, layers };
}
