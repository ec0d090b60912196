import { createRng } from '../util/random';
import { binRows, fitFeatureBins, splitThreshold } from './binning';

const column = (values: number[]) => values.map((value) => [value]);

describe('fitFeatureBins', () => {
  it('gives a feature with few distinct values one bin per value, cut between neighbours', () => {
    const bins = fitFeatureBins(column([3, 1, 2, 2, 1, 3]), 1, 255);
    expect(bins.thresholds).toEqual([[1.5, 2.5]]);
  });

  it('keeps every edge a float32 value between two distinct training values', () => {
    const values = [0.1, 0.2, 0.30000001, 0.3, 1e-7, 123456.789];
    const [edges] = fitFeatureBins(column(values), 1, 255).thresholds;
    const sorted = [...new Set(values.map(Math.fround))].sort((a, b) => a - b);
    expect(edges).toHaveLength(sorted.length - 1);
    edges.forEach((edge, i) => {
      expect(Math.fround(edge)).toBe(edge);
      expect(edge).toBeGreaterThanOrEqual(sorted[i]);
      expect(edge).toBeLessThan(sorted[i + 1]);
    });
  });

  it('cuts many distinct values at quantiles: at most maxBins bins of about equal counts', () => {
    const rng = createRng(3);
    const values = Array.from({ length: 10_000 }, () => rng() ** 3);
    const bins = fitFeatureBins(column(values), 1, 16);
    expect(bins.thresholds[0]).toHaveLength(15);
    const codes = binRows(column(values), bins).codes;
    const counts = new Array<number>(16).fill(0);
    codes.forEach((code) => counts[code]++);
    for (const count of counts) expect(Math.abs(count - 10_000 / 16)).toBeLessThan(20);
  });

  it('gives a constant feature no edges, and ties never split one value across bins', () => {
    const bins = fitFeatureBins(
      [
        [5, 0],
        [5, 0],
        [5, 0],
        [5, 1],
      ],
      2,
      2,
    );
    expect(bins.thresholds).toEqual([[], [0.5]]);
  });
});

describe('splitThreshold', () => {
  it('records the smallest and largest training value of each bin', () => {
    const bins = fitFeatureBins(column([4, 1, 2, 2, 9, 7, 7, 8]), 1, 3);
    expect(bins.thresholds[0]).toHaveLength(2);
    // Three bins of about equal counts: {1, 2, 2}, {4, 7, 7}, {8, 9}.
    expect(bins.lowest[0]).toEqual([1, 4, 8]);
    expect(bins.highest[0]).toEqual([2, 7, 9]);
  });

  it('puts a split halfway between the values either side, across empty bins, as scikit-learn does', () => {
    const values = [0, 1, 2, 3, 10, 11];
    const bins = fitFeatureBins(column(values), 1, 65_535);
    // A node holding only 1 and 10 (bins 1 and 4) splits at 5.5, not at an edge between the bins in between.
    expect(splitThreshold(bins, 0, 1, 4)).toBe(5.5);
    expect(splitThreshold(bins, 0, 0, 1)).toBe(0.5);
  });

  it('keeps the threshold a float32 value at or above the left value and below the right one', () => {
    const low = Math.fround(0.1);
    const high = Math.fround(0.1) + 2 ** -26;
    const bins = fitFeatureBins(column([low, high]), 1, 255);
    const threshold = splitThreshold(bins, 0, 0, 1);
    expect(Math.fround(threshold)).toBe(threshold);
    expect(threshold).toBeGreaterThanOrEqual(low);
    expect(threshold).toBeLessThan(Math.fround(high));
  });
});

describe('binRows', () => {
  it('puts a value in the first bin whose edge is >= the value, comparing as float32', () => {
    const bins = { thresholds: [[Math.fround(0.1), 2.5]] };
    const codes = binRows(column([0, 0.1, Math.fround(0.1), 0.100000001, 2.5, 2.6, 100, -1]), bins).codes;
    // 0.100000001 rounds to the float32 nearest 0.1, so it lands with 0.1.
    expect(Array.from(codes)).toEqual([0, 0, 0, 0, 1, 2, 2, 0]);
  });

  it('stores codes column by column', () => {
    const bins = { thresholds: [[0.5], [10]] };
    const binned = binRows(
      [
        [0, 20],
        [1, 5],
        [1, 30],
      ],
      bins,
    );
    expect(binned).toEqual({
      rowCount: 3,
      featureCount: 2,
      binCount: 2,
      codes: Uint8Array.of(0, 1, 1, 1, 0, 1),
    });
  });

  it('stores two bytes a code once a feature has more than 256 bins, and one bin per distinct value up to maxBins', () => {
    const values = Array.from({ length: 1_000 }, (_, i) => i / 7);
    const bins = fitFeatureBins(column(values), 1, 65_535);
    expect(bins.thresholds[0]).toHaveLength(999);
    const binned = binRows(column(values), bins);
    expect(binned.binCount).toBe(1_000);
    expect(binned.codes).toBeInstanceOf(Uint16Array);
    expect(Array.from(binned.codes)).toEqual(values.map((_, i) => i));
  });

  it('refuses maxBins outside 2 to 65,535', () => {
    expect(() => fitFeatureBins(column([1, 2]), 1, 65_536)).toThrow(
      'fitFeatureBins: maxBins 65536 is not an integer from 2 to 65535',
    );
  });
});
