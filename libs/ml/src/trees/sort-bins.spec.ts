import { createRng } from '../util/random';
import { INSERTION_SORT_LIMIT, sortBins } from './sort-bins';

/** A histogram of `binCount` bins (stride 1: the count only) with `count` distinct occupied bins, listed unsorted. */
function occupiedBins(binCount: number, count: number, seed: number) {
  const rng = createRng(seed);
  const histogram = new Float64Array(binCount);
  const occupied = new Uint16Array(binCount);
  for (let listed = 0; listed < count;) {
    const bin = Math.floor(rng() * binCount);
    if (histogram[bin] > 0) continue;
    histogram[bin] = 1;
    occupied[listed++] = bin;
  }
  return { histogram, occupied };
}

describe('sortBins', () => {
  it.each([
    ['by insertion (few occupied bins)', 256, INSERTION_SORT_LIMIT],
    ['by walking the bins (many of few)', 256, 200],
    ['natively (a few hundred of thousands of bins)', 4_000, 300],
  ])('sorts the occupied bins ascending %s', (_, binCount, count) => {
    const seed = 7;
    const { histogram, occupied } = occupiedBins(binCount, count, seed);
    const expected = Array.from(occupied.subarray(0, count)).sort((a, b) => a - b);
    sortBins(occupied, count, binCount, histogram, 1, 0);
    expect(Array.from(occupied.subarray(0, count))).toEqual(expected);
  });
});
