import type { Activation } from './dense-spec';

/** Softmax that subtracts the maximum first, so large logits cannot overflow exp(). */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

/** Logistic function written so that neither branch computes exp() of a large positive number. */
export function sigmoid(x: number): number {
  if (x >= 0) {
    return 1 / (1 + Math.exp(-x));
  }
  const e = Math.exp(x);
  return e / (1 + e);
}

export function applyActivation(activation: Activation, values: readonly number[]): number[] {
  switch (activation) {
    case 'relu':
      return values.map((value) => Math.max(0, value));
    case 'tanh':
      return values.map(Math.tanh);
    case 'sigmoid':
      return values.map(sigmoid);
    case 'linear':
      return [...values];
    case 'softmax':
      return softmax(values);
  }
}
