import type { DenseClassifierSpec } from './dense-spec';
import { argmax, predictProba } from './forward';

/**
 * Standardizer maps [3, 6] to [1, 1]. Hidden relu layer (kernel rows are inputs, columns are units):
 *   z = [1*1 + 1*2 + 0, 1*(-1) + 1*0.5 - 2] = [3, -2.5] -> relu [3, 0]
 * Output layer: logits = [3*1 + 0*5 + 0, 3*0 + 0*5 + 1, 3*(-1) + 0*5 + 0] = [3, 1, -3].
 */
const handWorkedSpec: DenseClassifierSpec = {
  featureNames: ['a', 'b'],
  labels: ['x', 'y', 'z'],
  standardizer: { mean: [1, 2], std: [2, 4] },
  layers: [
    {
      inputs: 2,
      units: 2,
      activation: 'relu',
      kernel: Float32Array.of(1, -1, 2, 0.5),
      bias: Float32Array.of(0, -2),
    },
    {
      inputs: 2,
      units: 3,
      activation: 'softmax',
      kernel: Float32Array.of(1, 0, -1, 5, 5, 5),
      bias: Float32Array.of(0, 1, 0),
    },
  ],
};

describe('predictProba', () => {
  it('matches a forward pass worked out by hand', () => {
    const total = Math.exp(3) + Math.exp(1) + Math.exp(-3);
    const [probabilities] = predictProba(handWorkedSpec, [[3, 6]]);
    expect(probabilities[0]).toBeCloseTo(Math.exp(3) / total, 14);
    expect(probabilities[1]).toBeCloseTo(Math.exp(1) / total, 14);
    expect(probabilities[2]).toBeCloseTo(Math.exp(-3) / total, 14);
  });

  it('applies tanh and sigmoid hidden activations', () => {
    const spec: DenseClassifierSpec = {
      featureNames: ['a'],
      labels: ['no', 'yes'],
      standardizer: { mean: [0], std: [1] },
      layers: [
        { inputs: 1, units: 1, activation: 'tanh', kernel: Float32Array.of(1), bias: Float32Array.of(0) },
        { inputs: 1, units: 1, activation: 'sigmoid', kernel: Float32Array.of(2), bias: Float32Array.of(0) },
        {
          inputs: 1,
          units: 2,
          activation: 'softmax',
          kernel: Float32Array.of(1, -1),
          bias: Float32Array.of(0, 0),
        },
      ],
    };
    const hidden = 1 / (1 + Math.exp(-2 * Math.tanh(0.75)));
    const [probabilities] = predictProba(spec, [[0.75]]);
    expect(probabilities[0]).toBeCloseTo(Math.exp(hidden) / (Math.exp(hidden) + Math.exp(-hidden)), 14);
  });

  it('stays finite and sums to 1 when logits are huge', () => {
    const spec: DenseClassifierSpec = {
      featureNames: ['a'],
      labels: ['p', 'q', 'r'],
      standardizer: { mean: [0], std: [1] },
      layers: [
        {
          inputs: 1,
          units: 3,
          activation: 'softmax',
          kernel: Float32Array.of(1000, -1000, 0),
          bias: Float32Array.of(0, 0, 0),
        },
      ],
    };
    for (const probabilities of predictProba(spec, [[5], [-5]])) {
      expect(probabilities.every(Number.isFinite)).toBe(true);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    expect(predictProba(spec, [[5]])[0][0]).toBe(1);
  });

  it('rejects an inconsistent spec with a message naming the problem', () => {
    const broken: DenseClassifierSpec = {
      ...handWorkedSpec,
      layers: [{ ...handWorkedSpec.layers[0], kernel: Float32Array.of(1, 2, 3) }, handWorkedSpec.layers[1]],
    };
    expect(() => predictProba(broken, [[0, 0]])).toThrow(/layers\[0\]\.kernel has 3 values, expected 2 x 2/);
    const noSoftmax: DenseClassifierSpec = {
      ...handWorkedSpec,
      layers: [handWorkedSpec.layers[0], { ...handWorkedSpec.layers[1], activation: 'linear' }],
    };
    expect(() => predictProba(noSoftmax, [[0, 0]])).toThrow(/expected 'softmax'/);
  });

  it('rejects rows with the wrong number of features', () => {
    expect(() => predictProba(handWorkedSpec, [[1, 2, 3]])).toThrow(/expected 2/);
  });
});

describe('argmax', () => {
  it('returns the index of the largest value, the first one on ties', () => {
    expect(argmax([0.1, 0.7, 0.2])).toBe(1);
    expect(argmax([3, 5, 5])).toBe(1);
    expect(argmax(Float32Array.of(-2, -1))).toBe(1);
  });

  it('rejects an empty input', () => {
    expect(() => argmax([])).toThrow(/empty/);
  });
});
