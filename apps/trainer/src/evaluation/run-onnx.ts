import {
  columnsByType,
  featureTensorValues,
  ONNX_CATEGORICAL_INPUT,
  ONNX_INPUT_NAME,
  ONNX_LABEL_OUTPUT,
  ONNX_PROBABILITIES_OUTPUT,
  ONNX_VALUE_OUTPUT,
  type FeatureCell,
  type FeatureColumn,
} from '@sepal/ml';

export interface OnnxClassifierOutput {
  probabilities: Float32Array;
  labels: BigInt64Array;
}

type Cells = readonly (readonly FeatureCell[])[];

/**
 * Runs an exported model once on raw rows in onnxruntime-node and releases the session; returns every output. The
 * model's inputs decide the feeds: a "categorical" string input gets the categorical cells ('' when missing) and
 * "features" the numeric ones (NaN when missing), split by the columns its metadata declares; a model without a
 * "categorical" input takes every cell as a number.
 */
export async function runOnnxModel(
  bytes: Uint8Array,
  rows: Cells,
  columns?: readonly FeatureColumn[] | null,
): Promise<Record<string, Float32Array | BigInt64Array>> {
  // Loaded on demand: the native module is only needed here.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  try {
    const width = rows[0]?.length ?? 0;
    const types: readonly FeatureColumn[] =
      columns ??
      Array.from({ length: width }, (_, i) => ({ name: `feature_${i}`, type: 'numeric' as const }));
    const { numeric, categorical } = columnsByType(types);
    const values = featureTensorValues(types, rows);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    if (numeric.length > 0) {
      feeds[ONNX_INPUT_NAME] = new ort.Tensor('float32', Float32Array.from(values.numeric), [
        rows.length,
        numeric.length,
      ]);
    }
    if (categorical.length > 0 && session.inputNames.includes(ONNX_CATEGORICAL_INPUT)) {
      feeds[ONNX_CATEGORICAL_INPUT] = new ort.Tensor('string', values.categorical, [
        rows.length,
        categorical.length,
      ]);
    }
    const outputs = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(outputs).map(([name, tensor]) => [name, tensor.data as Float32Array | BigInt64Array]),
    );
  } finally {
    await session.release();
  }
}

/** Runs an exported classifier on raw rows: its probabilities and labels. */
export async function runOnnxClassifier(
  bytes: Uint8Array,
  rows: Cells,
  columns?: readonly FeatureColumn[] | null,
): Promise<OnnxClassifierOutput> {
  const outputs = await runOnnxModel(bytes, rows, columns);
  return {
    probabilities: outputs[ONNX_PROBABILITIES_OUTPUT] as Float32Array,
    labels: outputs[ONNX_LABEL_OUTPUT] as BigInt64Array,
  };
}

/** Runs an exported regressor on raw rows: one value per row. */
export async function runOnnxRegressor(
  bytes: Uint8Array,
  rows: Cells,
  columns?: readonly FeatureColumn[] | null,
): Promise<Float32Array> {
  const outputs = await runOnnxModel(bytes, rows, columns);
  const values = outputs[ONNX_VALUE_OUTPUT];
  if (!(values instanceof Float32Array)) throw new Error(`the model has no '${ONNX_VALUE_OUTPUT}' output`);
  return values;
}
