import { runOnnxClassifier } from './run-onnx';

/** Accuracy of an ONNX classifier (its `label` output) on raw rows: how the gate scores the champion on new data. */
export async function onnxAccuracy(bytes: Uint8Array, rows: number[][], labels: number[]): Promise<number> {
  if (rows.length === 0) throw new Error('no rows to evaluate on');
  const output = await runOnnxClassifier(bytes, rows);
  return labels.filter((label, i) => Number(output.labels[i]) === label).length / labels.length;
}
