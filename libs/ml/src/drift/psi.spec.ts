import { createRng } from '../util/random';
import {
  fitPsiReference,
  populationStabilityIndex,
  psiAgainstReference,
  psiBinIndex,
  psiFromBinCounts,
  psiPerFeature,
} from './psi';

const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('fitPsiReference', () => {
  it('puts the edges at the reference quantiles, interpolated like numpy', () => {
    // np.quantile([1..10], [0.25, 0.5, 0.75]) = [3.25, 5.5, 7.75]
    expect(fitPsiReference(oneToTen, 4)).toEqual({
      edges: [3.25, 5.5, 7.75],
      proportions: [0.3, 0.2, 0.2, 0.3],
    });
  });

  it('merges tied quantiles of a feature with few distinct values', () => {
    // np.quantile([0]*7 + [1]*3, [0.1, ..., 0.9]) = [0, 0, 0, 0, 0, 0, 0.3, 1, 1]
    const reference = fitPsiReference([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 10);
    expect(reference.edges).toHaveLength(3);
    [0, 0.3, 1].forEach((edge, i) => expect(reference.edges[i]).toBeCloseTo(edge, 12));
    expect(reference.proportions).toEqual([0.7, 0, 0.3, 0]);
  });

  it('rejects an empty sample, a non-finite value and fewer than 2 bins', () => {
    expect(() => fitPsiReference([])).toThrow(/reference sample is empty/);
    expect(() => fitPsiReference([1, Number.NaN])).toThrow(/non-finite value at 1/);
    expect(() => fitPsiReference(oneToTen, 1)).toThrow(/bins must be an integer >= 2/);
  });
});

describe('populationStabilityIndex', () => {
  it('is 0 for the same sample', () => {
    expect(populationStabilityIndex(oneToTen, oneToTen)).toBe(0);
  });

  it('matches a value worked out by hand', () => {
    // Two bins split at the median 5.5: reference shares [0.5, 0.5], current [0.75, 0.25].
    const expected = 0.25 * Math.log(0.75 / 0.5) + -0.25 * Math.log(0.25 / 0.5);
    expect(populationStabilityIndex(oneToTen, [1, 2, 3, 8], { bins: 2 })).toBeCloseTo(expected, 12);
  });

  it('uses epsilon for an empty bin instead of producing infinity', () => {
    const epsilon = 1e-3;
    const expected = 0.5 * Math.log(1 / 0.5) + (epsilon - 0.5) * Math.log(epsilon / 0.5);
    expect(populationStabilityIndex(oneToTen, [1, 2, 3], { bins: 2, epsilon })).toBeCloseTo(expected, 12);
  });

  it('is small for two samples of one distribution and large after a shift', () => {
    const rng = createRng(3);
    const sample = (offset: number) => Array.from({ length: 5000 }, () => offset + rng() + rng() + rng());
    const reference = sample(0);
    expect(populationStabilityIndex(reference, sample(0))).toBeLessThan(0.02);
    expect(populationStabilityIndex(reference, sample(0.5))).toBeGreaterThan(0.25);
  });

  it('can reuse a fitted reference', () => {
    const reference = fitPsiReference(oneToTen, 2);
    expect(psiAgainstReference(reference, [1, 2, 3, 8])).toBe(
      populationStabilityIndex(oneToTen, [1, 2, 3, 8], { bins: 2 }),
    );
  });
});

describe('psiPerFeature', () => {
  it('computes one index per column', () => {
    const reference = oneToTen.map((value) => [value, value]);
    const current = [1, 2, 3, 8].map((value) => [value, value + 100]);
    const [stable, shifted] = psiPerFeature(reference, current, { bins: 2 });
    expect(stable).toBeCloseTo(populationStabilityIndex(oneToTen, [1, 2, 3, 8], { bins: 2 }), 12);
    expect(shifted).toBeGreaterThan(stable);
  });

  it('rejects samples of different widths', () => {
    expect(() => psiPerFeature([[1, 2]], [[1]])).toThrow(/expected 2/);
  });
});

describe('psiFromBinCounts', () => {
  it('gives the same index as psiAgainstReference from counts binned with psiBinIndex', () => {
    const reference = fitPsiReference(oneToTen, 4);
    const current = [1, 2, 2, 3, 8, 9.5, 11, -4];
    const counts = new Float64Array(reference.proportions.length);
    for (const value of current) counts[psiBinIndex(reference.edges, value)]++;
    expect(psiFromBinCounts(reference, counts, current.length)).toBe(psiAgainstReference(reference, current));
  });

  it('puts a value on an edge in the bin below it and infinities in the outer bins', () => {
    const edges = [3.25, 5.5, 7.75];
    expect(
      [3.25, 3.26, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY].map((v) => psiBinIndex(edges, v)),
    ).toEqual([0, 1, 0, 3]);
  });

  it('rejects counts that do not match the reference bins, and an empty sample', () => {
    const reference = fitPsiReference(oneToTen, 2);
    expect(() => psiFromBinCounts(reference, [1, 2, 3], 6)).toThrow(/3 bin counts for 2 reference bins/);
    expect(() => psiFromBinCounts(reference, [0, 0], 0)).toThrow(/empty/);
  });
});
