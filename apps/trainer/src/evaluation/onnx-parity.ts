import { argmax } from '@sepal/ml';
import { runOnnxClassifier } from './run-onnx';

export interface ParityReport {
  rows: number;
  maxAbsDifference: number;
  /** Rows whose ONNX label differs from the TensorFlow.js argmax. */
  labelMismatches: number;
  passed: boolean;
  /** Why it failed, when it did. */
  reason?: string;
}

/**
 * Loads the exported bytes in onnxruntime-node and compares them with the TensorFlow.js probabilities of the same
 * raw rows: every probability within `tolerance` and identical labels.
 */
export async function checkOnnxParity(
  bytes: Uint8Array,
  rows: number[][],
  expected: number[][],
  tolerance: number,
): Promise<ParityReport> {
  if (rows.length === 0)
    return { rows: 0, maxAbsDifference: 0, labelMismatches: 0, passed: false, reason: 'no rows' };
  const { probabilities, labels } = await runOnnxClassifier(bytes, rows);
  const classes = expected[0].length;
  if (probabilities.length !== rows.length * classes || labels.length !== rows.length) {
    return {
      rows: rows.length,
      maxAbsDifference: Number.POSITIVE_INFINITY,
      labelMismatches: rows.length,
      passed: false,
      reason: `ONNX outputs have the wrong size (${probabilities.length} probabilities, ${labels.length} labels)`,
    };
  }
  let maxAbsDifference = 0;
  let labelMismatches = 0;
  expected.forEach((row, i) => {
    row.forEach((p, k) => {
      const difference = Math.abs(p - probabilities[i * classes + k]);
      // NaN must fail the check, so it is not compared with Math.max.
      maxAbsDifference =
        difference > maxAbsDifference || Number.isNaN(difference) ? difference : maxAbsDifference;
    });
    if (Number(labels[i]) !== argmax(row)) labelMismatches++;
  });
  const withinTolerance = maxAbsDifference < tolerance;
  const problems = [
    ...(withinTolerance ? [] : [`max |ONNX - tf| = ${maxAbsDifference} is not below ${tolerance}`]),
    ...(labelMismatches === 0 ? [] : [`${labelMismatches} of ${rows.length} labels differ`]),
  ];
  return {
    rows: rows.length,
    maxAbsDifference,
    labelMismatches,
    passed: problems.length === 0,
    ...(problems.length ? { reason: `ONNX parity check failed: ${problems.join('; ')}` } : {}),
  };
}
