import { fitStandardizer, standardize } from './standardizer';

describe('fitStandardizer', () => {
  it('computes the mean and the population standard deviation per column', () => {
    // Column 0: 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and population std 2 (sample std would be 2.138).
    const rows = [2, 4, 4, 4, 5, 5, 7, 9].map((value, i) => [value, i]);
    const spec = fitStandardizer(rows);
    expect(spec.mean[0]).toBeCloseTo(5, 12);
    expect(spec.std[0]).toBeCloseTo(2, 12);
    expect(spec.mean[1]).toBeCloseTo(3.5, 12);
    expect(spec.std[1]).toBeCloseTo(Math.sqrt(5.25), 12);
  });

  it('stores 1 as the deviation of a constant column, including one with rounding residue', () => {
    const spec = fitStandardizer([
      [0.1, 3],
      [0.1, 3],
      [0.1, 3],
    ]);
    expect(spec.std).toEqual([1, 1]);
    expect(standardize(spec, [[0.1, 3]])[0][1]).toBe(0);
  });

  it('rejects empty, ragged and non-finite input', () => {
    expect(() => fitStandardizer([])).toThrow(/at least one row/);
    expect(() => fitStandardizer([[1, 2], [3]])).toThrow(/row 1 has 1 values, expected 2/);
    expect(() => fitStandardizer([[1, Number.NaN]])).toThrow(/column 1 is not a finite number/);
  });
});

describe('standardize', () => {
  it('subtracts the mean and divides by the deviation', () => {
    const spec = { mean: [1, -2], std: [2, 0.5] };
    expect(standardize(spec, [[5, -1]])).toEqual([[2, 2]]);
  });

  it('gives the fitted data zero mean and unit population variance', () => {
    const rows = [
      [1, 10],
      [2, 20],
      [6, 15],
      [7, 35],
    ];
    const scaled = standardize(fitStandardizer(rows), rows);
    for (const column of [0, 1]) {
      const values = scaled.map((row) => row[column]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(mean).toBeCloseTo(0, 12);
      expect(variance).toBeCloseTo(1, 12);
    }
  });

  it('rejects rows whose width differs from the spec', () => {
    expect(() => standardize({ mean: [0, 0], std: [1, 1] }, [[1, 2, 3]])).toThrow(/expected 2/);
  });
});
