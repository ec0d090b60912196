/** The default half-width of "close enough" for `withinTolerance` (e.g. half a quality point). */
export const DEFAULT_REGRESSION_TOLERANCE = 0.5;

export interface RegressionReport {
  /** Root mean squared error. */
  rmse: number;
  /** Mean absolute error. */
  mae: number;
  /** Coefficient of determination: 1 - SS_res / SS_tot (1 when a constant truth is predicted exactly, else 0). */
  r2: number;
  /** Share of predictions within `tolerance` of the truth (|error| <= tolerance). */
  withinTolerance: number;
  tolerance: number;
  count: number;
}

/** RMSE, MAE, R² and the share within a tolerance of the truth, as scikit-learn computes the first three. */
export function regressionReport(
  yTrue: readonly number[],
  yPred: readonly number[],
  tolerance: number = DEFAULT_REGRESSION_TOLERANCE,
): RegressionReport {
  if (yTrue.length !== yPred.length) {
    throw new Error(`regressionReport: ${yTrue.length} true values but ${yPred.length} predictions`);
  }
  if (yTrue.length === 0) throw new Error('regressionReport: there are no values to score');
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error(`regressionReport: the tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const bad = [...yTrue, ...yPred].findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new Error('regressionReport: every true value and prediction must be a finite number');
  const count = yTrue.length;
  const mean = yTrue.reduce((sum, y) => sum + y, 0) / count;
  let squared = 0;
  let absolute = 0;
  let total = 0;
  let within = 0;
  yTrue.forEach((y, i) => {
    const error = yPred[i] - y;
    squared += error * error;
    absolute += Math.abs(error);
    total += (y - mean) ** 2;
    // A little slack for float32 predictions landing on the boundary (e.g. 5.5 against 6 with tolerance 0.5).
    if (Math.abs(error) <= tolerance + 1e-9) within++;
  });
  return {
    rmse: Math.sqrt(squared / count),
    mae: absolute / count,
    r2: total === 0 ? (squared === 0 ? 1 : 0) : 1 - squared / total,
    withinTolerance: within / count,
    tolerance,
    count,
  };
}
