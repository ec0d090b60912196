import type { Matrix } from '../util/matrix';

/**
 * Per feature, the ascending upper edges of its bins: a value v falls in bin b when thresholds[b - 1] < v <= thresholds[b]
 * (the last bin is open above). Each edge is exactly representable in float32 and lies between two distinct training
 * values, so comparing a float32 input against it sends every training row where its bin says.
 */
export interface FeatureBins {
  thresholds: number[][];
  /** Per feature and bin, the smallest and the largest training value in it (every bin holds at least one). */
  lowest: number[][];
  highest: number[][];
}

/** A row-count x feature-count matrix of bin codes, stored column by column for fast per-feature histograms. */
export interface BinnedMatrix {
  rowCount: number;
  featureCount: number;
  /** Bins of the feature with the most (its edges + 1): every code is below it. */
  binCount: number;
  /** codes[feature * rowCount + row]; one byte each while every feature has at most 256 bins, two beyond. */
  codes: Uint8Array | Uint16Array;
}

/** The most edges a feature can have: codes are 16-bit. */
export const MAX_BIN_EDGES = 65_535;

/**
 * Quantile bins computed on the training rows: a feature with at most `maxBins` distinct values gets one bin per value;
 * otherwise the edges sit at the 1/maxBins, 2/maxBins, ... quantiles (fewer when ties collapse them).
 */
export function fitFeatureBins(rows: Matrix, featureCount: number, maxBins: number): FeatureBins {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BIN_EDGES) {
    throw new Error(`fitFeatureBins: maxBins ${maxBins} is not an integer from 2 to ${MAX_BIN_EDGES}`);
  }
  const bins: FeatureBins = { thresholds: [], lowest: [], highest: [] };
  const values = new Float64Array(rows.length);
  for (let feature = 0; feature < featureCount; feature++) {
    for (let row = 0; row < rows.length; row++) values[row] = Math.fround(rows[row][feature]);
    values.sort();
    const { thresholds, lowest, highest } = featureBins(values, maxBins);
    bins.thresholds.push(thresholds);
    bins.lowest.push(lowest);
    bins.highest.push(highest);
  }
  return bins;
}

/** The bin codes of `rows` under `bins` (training, validation or new rows alike). */
export function binRows(rows: Matrix, bins: Pick<FeatureBins, 'thresholds'>): BinnedMatrix {
  const rowCount = rows.length;
  const featureCount = bins.thresholds.length;
  const binCount = bins.thresholds.reduce((most, edges) => Math.max(most, edges.length + 1), 1);
  const codes =
    binCount <= 256 ? new Uint8Array(rowCount * featureCount) : new Uint16Array(rowCount * featureCount);
  for (let feature = 0; feature < featureCount; feature++) {
    const edges = bins.thresholds[feature];
    const offset = feature * rowCount;
    for (let row = 0; row < rowCount; row++) {
      codes[offset + row] = binOf(edges, Math.fround(rows[row][feature]));
    }
  }
  return { rowCount, featureCount, binCount, codes };
}

/** The first bin whose upper edge is >= value (NaN lands in the last bin, as it goes right at every split). */
function binOf(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value <= edges[middle]) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Where a split between two occupied bins, `left` below `right`, puts its threshold: halfway between the largest
 * training value of `left` and the smallest of `right` (scikit-learn's midpoint between neighbouring values), as a
 * float32 value from the one up to below the other, so every training row goes where its bin says.
 */
export function splitThreshold(bins: FeatureBins, feature: number, left: number, right: number): number {
  return float32Between(bins.highest[feature][left], bins.lowest[feature][right]);
}

/** One feature's edges and its bins' smallest and largest values, from its sorted training values. */
function featureBins(sorted: Float64Array, maxBins: number): Record<keyof FeatureBins, number[]> {
  const distinct: number[] = [];
  /** cumulative[i]: rows with a value <= distinct[i] */
  const cumulative: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] > sorted[i - 1]) distinct.push(sorted[i]);
    cumulative[distinct.length - 1] = i + 1;
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(i);
  } else {
    let index = 0;
    for (let q = 1; q < maxBins; q++) {
      const rank = (q * sorted.length) / maxBins;
      while (cumulative[index] < rank) index++;
      if (index + 1 < distinct.length && cuts[cuts.length - 1] !== index) cuts.push(index);
    }
  }
  const lowest = [distinct[0], ...cuts.map((i) => distinct[i + 1])];
  const highest = [...cuts.map((i) => distinct[i]), distinct[distinct.length - 1]];
  return { thresholds: cuts.map((i) => float32Between(distinct[i], distinct[i + 1])), lowest, highest };
}

/** A float32 value t with low <= t < high, near their midpoint; low and high are distinct float32 values. */
function float32Between(low: number, high: number): number {
  const middle = Math.fround(low + (high - low) / 2);
  return middle < high && middle >= low ? middle : low;
}
