import { assertFiniteMatrix, type Matrix } from '../util/matrix';

export const DEFAULT_PSI_BINS = 10;
/** Stands in for an empty bin's proportion, whose logarithm would otherwise be -infinity. */
export const DEFAULT_PSI_EPSILON = 1e-4;

export interface PsiOptions {
  bins?: number;
  epsilon?: number;
}

/** Bins fitted on a reference sample: value v falls in bin i when edges[i-1] < v <= edges[i]. */
export interface PsiReference {
  /** Inner edges, strictly increasing; the outer bins are open towards -/+ infinity. */
  edges: number[];
  /** Share of the reference sample in each bin (edges.length + 1 entries). */
  proportions: number[];
}

/**
 * Quantile bins of the reference sample (linear interpolation, like numpy's default). Tied quantiles are
 * merged, so a feature with few distinct values gets fewer bins.
 */
export function fitPsiReference(reference: readonly number[], bins = DEFAULT_PSI_BINS): PsiReference {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new Error(`fitPsiReference: bins must be an integer >= 2, got ${bins}`);
  }
  assertSample(reference, 'reference');
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantile(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  return { edges, proportions: binProportions(edges, reference) };
}

/** PSI = sum over bins of (current - reference) * ln(current / reference), with empty bins set to epsilon. */
export function psiAgainstReference(
  reference: PsiReference,
  current: readonly number[],
  epsilon = DEFAULT_PSI_EPSILON,
): number {
  assertSample(current, 'current');
  const counts = new Array<number>(reference.edges.length + 1).fill(0);
  for (const value of current) counts[psiBinIndex(reference.edges, value)]++;
  return psiFromBinCounts(reference, counts, current.length, epsilon);
}

/**
 * PSI of a current sample given as counts per reference bin (counts[i] values fell in bin i, see psiBinIndex), for
 * callers that bin as values arrive and keep no array of them. Same result as psiAgainstReference on those values.
 */
export function psiFromBinCounts(
  reference: PsiReference,
  counts: ArrayLike<number>,
  total: number,
  epsilon = DEFAULT_PSI_EPSILON,
): number {
  if (counts.length !== reference.proportions.length) {
    throw new Error(`PSI: ${counts.length} bin counts for ${reference.proportions.length} reference bins`);
  }
  if (!(total > 0)) throw new Error('PSI: the current sample is empty');
  let psi = 0;
  for (let bin = 0; bin < counts.length; bin++) {
    const expected = Math.max(reference.proportions[bin], epsilon);
    const actual = Math.max(counts[bin] / total, epsilon);
    psi += (actual - expected) * Math.log(actual / expected);
  }
  return psi;
}

export function populationStabilityIndex(
  reference: readonly number[],
  current: readonly number[],
  options: PsiOptions = {},
): number {
  return psiAgainstReference(fitPsiReference(reference, options.bins), current, options.epsilon);
}

/** One PSI per feature (column) between two samples of rows. */
export function psiPerFeature(
  referenceRows: Matrix,
  currentRows: Matrix,
  options: PsiOptions = {},
): number[] {
  const width = assertFiniteMatrix(referenceRows, 'psiPerFeature reference');
  assertFiniteMatrix(currentRows, 'psiPerFeature current', width);
  return Array.from({ length: width }, (_, column) =>
    populationStabilityIndex(
      referenceRows.map((row) => row[column]),
      currentRows.map((row) => row[column]),
      options,
    ),
  );
}

function quantile(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

function binProportions(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) counts[psiBinIndex(edges, value)]++;
  return counts.map((count) => count / values.length);
}

/** The reference bin of a value: the number of edges strictly below it, by binary search. */
export function psiBinIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (edges[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function assertSample(values: readonly number[], what: string): void {
  if (values.length === 0) throw new Error(`PSI: the ${what} sample is empty`);
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new Error(`PSI: the ${what} sample has a non-finite value at ${bad} (${values[bad]})`);
}
