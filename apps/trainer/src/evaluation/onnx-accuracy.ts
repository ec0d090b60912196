import { readOnnxMetadata, regressionReport, type FeatureCell, type FeatureColumn } from '@sepal/ml';
import { parseOnnxMetadata } from '@sepal/contracts';
import { regressionTestMetrics } from './evaluation';
import { runOnnxClassifier, runOnnxRegressor } from './run-onnx';

/** Accuracy of an ONNX classifier (its `label` output) on raw rows: how the gate scores the champion on new data. */
export async function onnxAccuracy(
  bytes: Uint8Array,
  rows: readonly (readonly FeatureCell[])[],
  labels: number[],
): Promise<number> {
  if (rows.length === 0) throw new Error('no rows to evaluate on');
  const output = await runOnnxClassifier(bytes, rows, artifactColumns(bytes));
  return labels.filter((label, i) => Number(output.labels[i]) === label).length / labels.length;
}

/** The test metrics of an ONNX regressor on raw rows (test_rmse, test_mae, test_r2, test_within_tolerance). */
export async function onnxRegressionMetrics(
  bytes: Uint8Array,
  rows: readonly (readonly FeatureCell[])[],
  targets: number[],
  tolerance: number,
): Promise<Record<string, number>> {
  if (rows.length === 0) throw new Error('no rows to evaluate on');
  const values = await runOnnxRegressor(bytes, rows, artifactColumns(bytes));
  return regressionTestMetrics(regressionReport(targets, Array.from(values), tolerance));
}

/** The feature columns an artifact declares (null: all numeric, as before columns existed). */
export function artifactColumns(bytes: Uint8Array): FeatureColumn[] | null {
  const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
  return metadata.featureColumns?.map(({ name, type }) => ({ name, type })) ?? null;
}
