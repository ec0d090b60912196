import type { Matrix } from '../util/matrix';

/**
 * Per feature, the ascending upper edges of its bins: a value v falls in bin b when thresholds[b - 1] < v <= thresholds[b]
 * (the last bin is open above). Each edge is exactly representable in float32 and lies between two distinct training
 * values, so comparing a float32 input against it sends every training row where its bin says.
 */
export interface FeatureBins {
  thresholds: number[][];
}

/** A row-count x feature-count matrix of bin codes, stored column by column for fast per-feature histograms. */
export interface BinnedMatrix {
  rowCount: number;
  featureCount: number;
  /** codes[feature * rowCount + row] */
  codes: Uint8Array;
}

/**
 * Quantile bins computed on the training rows: a feature with at most `maxBins` distinct values gets one bin per value;
 * otherwise the edges sit at the 1/maxBins, 2/maxBins, ... quantiles (fewer when ties collapse them).
 */
export function fitFeatureBins(rows: Matrix, featureCount: number, maxBins: number): FeatureBins {
  const thresholds: number[][] = [];
  const values = new Float64Array(rows.length);
  for (let feature = 0; feature < featureCount; feature++) {
    for (let row = 0; row < rows.length; row++) values[row] = Math.fround(rows[row][feature]);
    values.sort();
    thresholds.push(featureThresholds(values, maxBins));
  }
  return { thresholds };
}

/** The bin codes of `rows` under `bins` (training, validation or new rows alike). */
export function binRows(rows: Matrix, bins: FeatureBins): BinnedMatrix {
  const rowCount = rows.length;
  const featureCount = bins.thresholds.length;
  const codes = new Uint8Array(rowCount * featureCount);
  for (let feature = 0; feature < featureCount; feature++) {
    const edges = bins.thresholds[feature];
    const offset = feature * rowCount;
    for (let row = 0; row < rowCount; row++) {
      codes[offset + row] = binOf(edges, Math.fround(rows[row][feature]));
    }
  }
  return { rowCount, featureCount, codes };
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

function featureThresholds(sorted: Float64Array, maxBins: number): number[] {
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
  return cuts.map((i) => float32Between(distinct[i], distinct[i + 1]));
}

/** A float32 value t with low <= t < high, near their midpoint; low and high are distinct float32 values. */
function float32Between(low: number, high: number): number {
  const middle = Math.fround(low + (high - low) / 2);
  return middle < high && middle >= low ? middle : low;
}
