import { assertFiniteMatrix, type Matrix } from '../util/matrix';

export interface StandardizerSpec {
  mean: number[];
  /** Standard deviations; a zero deviation is stored as 1 so the feature passes through centred. */
  std: number[];
}

/** Per-feature mean and population standard deviation; a constant feature gets std 1 so it passes through centred. */
export function fitStandardizer(rows: Matrix): StandardizerSpec {
  if (rows.length === 0) {
    throw new Error('fitStandardizer: at least one row is needed');
  }
  const width = assertFiniteMatrix(rows, 'fitStandardizer');
  const mean: number[] = [];
  const std: number[] = [];
  for (let column = 0; column < width; column++) {
    const values = rows.map((row) => row[column]);
    const columnMean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - columnMean) ** 2, 0) / values.length;
    // Compare values rather than the variance: a constant column can leave a rounding residue of ~1e-34.
    const isConstant = values.every((value) => value === values[0]);
    mean.push(columnMean);
    std.push(isConstant ? 1 : Math.sqrt(variance));
  }
  return { mean, std };
}

export function standardize(spec: StandardizerSpec, rows: Matrix): number[][] {
  assertFiniteMatrix(rows, 'standardize', spec.mean.length);
  return rows.map((row) => row.map((value, column) => (value - spec.mean[column]) / spec.std[column]));
}
