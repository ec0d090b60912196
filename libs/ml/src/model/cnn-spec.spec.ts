import {
  cnnArchitecture,
  cnnLayerShapes,
  cnnParamsProblems,
  convOutputSize,
  DEFAULT_CNN_PARAMS,
  samePadding,
  type CnnClassifierSpec,
} from './cnn-spec';
import { cnnClassifierSpecProblems } from './validate-cnn-spec';

describe('the CNN family spec', () => {
  it('describes the default grid point as two conv blocks on 28x28 grey images', () => {
    expect(cnnParamsProblems(DEFAULT_CNN_PARAMS, { height: 28, width: 28, channels: 1 })).toEqual([]);
    const layers = cnnArchitecture(DEFAULT_CNN_PARAMS);
    expect(layers.map((layer) => layer.kind)).toEqual([
      ...['conv2d', 'batchNorm', 'relu', 'maxPool', 'dropout'],
      ...['conv2d', 'batchNorm', 'relu', 'maxPool', 'dropout'],
      ...['flatten', 'dense', 'dropout'],
    ]);
    expect(layers[5]).toMatchObject({ kind: 'conv2d', filters: 32, useBias: false });
    const shapes = cnnLayerShapes(layers, { height: 28, width: 28, channels: 1 });
    expect(shapes[3]).toEqual([14, 14, 16]);
    expect(shapes[10]).toEqual([7 * 7 * 32]);
  });

  it('names each bad parameter with its limit, and an architecture that empties the image', () => {
    const problems = cnnParamsProblems({
      ...DEFAULT_CNN_PARAMS,
      filters: 0,
      dropout: 1,
      epochs: 2.5,
      padding: 'full' as never,
      optimizer: 'lbfgs' as never,
    });
    expect(problems).toEqual([
      'filters must be between 1 and 128, got 0',
      'epochs must be an integer, got 2.5',
      'dropout must be between 0 and 0.9, got 1',
      "padding must be 'same' or 'valid', got full",
      'optimizer must be one of adam, sgd, rmsprop, got lbfgs',
    ]);
    expect(
      cnnParamsProblems(
        { ...DEFAULT_CNN_PARAMS, convBlocks: 3, padding: 'valid', kernelSize: 5 },
        {
          height: 28,
          width: 28,
          channels: 1,
        },
      ),
    ).toEqual([
      "layer 10 (conv2d 5x5) leaves nothing of a 4x4 image: use fewer convBlocks, a smaller kernelSize or 'same' padding",
    ]);
  });

  it("computes TensorFlow's output sizes and 'same' padding", () => {
    expect(convOutputSize(28, 3, 1, 'same')).toBe(28);
    expect(convOutputSize(7, 3, 2, 'same')).toBe(4);
    expect(convOutputSize(7, 3, 2, 'valid')).toBe(3);
    expect(convOutputSize(7, 2, 2, 'valid')).toBe(3);
    expect(samePadding(28, 3, 1)).toEqual([1, 1]);
    expect(samePadding(6, 3, 2)).toEqual([0, 1]);
    expect(samePadding(7, 1, 1)).toEqual([0, 0]);
  });

  it('checks a trained spec layer by layer', () => {
    const spec: CnnClassifierSpec = {
      input: { height: 4, width: 4, channels: 1 },
      scale: 255,
      labels: ['a', 'b'],
      layers: [
        {
          kind: 'conv2d',
          kernel: new Float32Array(3 * 3 * 1 * 2),
          kernelHeight: 3,
          kernelWidth: 3,
          inChannels: 1,
          filters: 2,
          strides: [1, 1],
          padding: 'same',
        },
        {
          kind: 'batchNorm',
          gamma: new Float32Array(2),
          beta: new Float32Array(2),
          movingMean: new Float32Array(2),
          movingVariance: new Float32Array(2).fill(1),
          epsilon: 1e-3,
        },
        { kind: 'relu' },
        { kind: 'maxPool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
        { kind: 'flatten' },
        {
          kind: 'dense',
          kernel: new Float32Array(16),
          bias: new Float32Array(2),
          inputs: 8,
          units: 2,
          activation: 'softmax',
        },
      ],
    };
    expect(cnnClassifierSpecProblems(spec)).toEqual([]);
    const broken: CnnClassifierSpec = {
      ...spec,
      labels: ['a', 'b', 'c'],
      layers: [
        { ...spec.layers[0]!, kernel: new Float32Array(3) } as never,
        ...spec.layers.slice(1, 4),
        spec.layers[5]!,
      ],
    };
    expect(cnnClassifierSpecProblems(broken)).toEqual([
      'layer 0 (conv2d) kernel has 3 values, expected 18',
      'layer 4 (dense) needs a flatten before it',
      'the last layer must be a Dense softmax of 3 units (one per label)',
    ]);
  });
});
