import { createRng } from '@sepal/ml';
import { seededPermutation } from './seeded-order';

describe('seededPermutation', () => {
  it('is a permutation that the same seed repeats and another seed changes', () => {
    const order = seededPermutation(50, createRng(3));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seededPermutation(50, createRng(3))).toEqual(order);
    expect(seededPermutation(50, createRng(4))).not.toEqual(order);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
  });

  it('handles empty and single-row inputs', () => {
    expect(seededPermutation(0, createRng(1))).toEqual([]);
    expect(seededPermutation(1, createRng(1))).toEqual([0]);
  });
});
