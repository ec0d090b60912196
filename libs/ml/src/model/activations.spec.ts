import { applyActivation, sigmoid, softmax } from './activations';

describe('softmax', () => {
  it('matches exp(x) / sum(exp(x)) for small inputs', () => {
    const total = Math.exp(1) + Math.exp(2) + Math.exp(3);
    const result = softmax([1, 2, 3]);
    [1, 2, 3].forEach((x, i) => expect(result[i]).toBeCloseTo(Math.exp(x) / total, 14));
  });

  it('stays finite for logits whose exp() overflows', () => {
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
    const result = softmax([1000, -1000, 0]);
    expect(result[0]).toBe(1);
    expect(result.every(Number.isFinite)).toBe(true);
  });
});

describe('sigmoid', () => {
  it('is 1/2 at 0 and symmetric', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(2) + sigmoid(-2)).toBeCloseTo(1, 15);
    expect(sigmoid(2)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
  });

  it('saturates without NaN for large magnitudes', () => {
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
  });
});

describe('applyActivation', () => {
  it('applies relu, tanh and linear element-wise', () => {
    expect(applyActivation('relu', [-1, 0, 2])).toEqual([0, 0, 2]);
    expect(applyActivation('tanh', [0.5])[0]).toBeCloseTo(Math.tanh(0.5), 15);
    expect(applyActivation('linear', [-3, 4])).toEqual([-3, 4]);
  });
});
