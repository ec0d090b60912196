import { ONNX_INPUT_NAME, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT } from '@sepal/ml';

export interface OnnxClassifierOutput {
  probabilities: Float32Array;
  labels: BigInt64Array;
}

/** Runs an exported classifier once on raw rows in onnxruntime-node and releases the session. */
export async function runOnnxClassifier(bytes: Uint8Array, rows: number[][]): Promise<OnnxClassifierOutput> {
  // Loaded on demand: the native module is only needed here.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
    const outputs = await session.run({ [ONNX_INPUT_NAME]: input });
    return {
      probabilities: outputs[ONNX_PROBABILITIES_OUTPUT].data as Float32Array,
      labels: outputs[ONNX_LABEL_OUTPUT].data as BigInt64Array,
    };
  } finally {
    await session.release();
  }
}
