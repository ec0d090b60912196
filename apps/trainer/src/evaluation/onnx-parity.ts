import { argmax, type FeatureCell, type FeatureColumn } from '@sepal/ml';
import { runOnnxClassifier, runOnnxRegressor } from './run-onnx';

export interface ParityReport {
  rows: number;
  maxAbsDifference: number;
  /** Rows whose ONNX label differs from the TensorFlow.js argmax. */
  labelMismatches: number;
  passed: boolean;
  /** Why it failed, when it did. */
  reason?: string;
}

const noRows = (): ParityReport => ({
  rows: 0,
  maxAbsDifference: 0,
  labelMismatches: 0,
  passed: false,
  reason: 'no rows',
});

/** The report when onnxruntime answered with the wrong number of outputs (`sizes` says what it gave). */
function wrongSize(rows: number, labelMismatches: number, sizes: string): ParityReport {
  return {
    rows,
    maxAbsDifference: Number.POSITIVE_INFINITY,
    labelMismatches,
    passed: false,
    reason: `ONNX outputs have the wrong size (${sizes})`,
  };
}

/** The larger difference so far; a NaN difference is kept, so that it fails the check. */
const larger = (max: number, difference: number) =>
  difference > max || Number.isNaN(difference) ? difference : max;

/** The report: passed when there is no problem, else the problems as its reason. */
function report(
  rows: number,
  maxAbsDifference: number,
  labelMismatches: number,
  problems: string[],
): ParityReport {
  return {
    rows,
    maxAbsDifference,
    labelMismatches,
    passed: problems.length === 0,
    ...(problems.length ? { reason: `ONNX parity check failed: ${problems.join('; ')}` } : {}),
  };
}

/** Compares exported bytes with TensorFlow.js's outputs (`expected`, one array per row) on the same raw rows. */
export type ParityCheck = (
  bytes: Uint8Array,
  rows: readonly (readonly FeatureCell[])[],
  expected: number[][],
  tolerance: number,
  columns?: readonly FeatureColumn[] | null,
) => Promise<ParityReport>;

/**
 * Loads the exported bytes in onnxruntime-node and compares them with the TensorFlow.js probabilities of the same
 * raw rows: every probability within `tolerance` and identical labels. The export reads the raw cells (its
 * preprocessing is in the graph), TensorFlow.js read them encoded by the trainer: the check covers both.
 */
export const checkOnnxParity: ParityCheck = async (bytes, rows, expected, tolerance, columns) => {
  if (rows.length === 0) return noRows();
  const { probabilities, labels } = await runOnnxClassifier(bytes, rows, columns);
  const classes = expected[0].length;
  if (probabilities.length !== rows.length * classes || labels.length !== rows.length) {
    return wrongSize(
      rows.length,
      rows.length,
      `${probabilities.length} probabilities, ${labels.length} labels`,
    );
  }
  let maxAbsDifference = 0;
  let labelMismatches = 0;
  expected.forEach((row, i) => {
    row.forEach((p, k) => {
      maxAbsDifference = larger(maxAbsDifference, Math.abs(p - probabilities[i * classes + k]));
    });
    if (Number(labels[i]) !== argmax(row)) labelMismatches++;
  });
  const withinTolerance = maxAbsDifference < tolerance;
  const problems = [
    ...(withinTolerance ? [] : [`max |ONNX - tf| = ${maxAbsDifference} is not below ${tolerance}`]),
    ...(labelMismatches === 0 ? [] : [`${labelMismatches} of ${rows.length} labels differ`]),
  ];
  return report(rows.length, maxAbsDifference, labelMismatches, problems);
};

/**
 * A regressor's parity: every ONNX value within `tolerance` of TensorFlow.js's, relative to max(1, |value|)
 * (`maxAbsDifference` reports that relative difference; there are no labels).
 */
export const checkOnnxRegressorParity: ParityCheck = async (bytes, rows, expected, tolerance, columns) => {
  if (rows.length === 0) return noRows();
  const values = await runOnnxRegressor(bytes, rows, columns);
  if (values.length !== rows.length) {
    return wrongSize(rows.length, 0, `${values.length} values for ${rows.length} rows`);
  }
  let maxAbsDifference = 0;
  expected.forEach(([value], i) => {
    maxAbsDifference = larger(maxAbsDifference, Math.abs(value - values[i]) / Math.max(1, Math.abs(value)));
  });
  const problems =
    maxAbsDifference < tolerance
      ? []
      : [`max |ONNX - tf| / max(1, |tf|) = ${maxAbsDifference} is not below ${tolerance}`];
  return report(rows.length, maxAbsDifference, 0, problems);
};
