import { argmax, ONNX_INPUT_NAME, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT } from '@sepal/ml';
import type { SplitImages } from '../clients/data-client';
import type { ParityReport } from './onnx-parity';

/** Images per onnxruntime call, so a large test split never becomes one huge tensor. */
const PARITY_BATCH = 256;

/**
 * An exported image classifier against TensorFlow.js on the same test images: the export (uint8 [N, H, W, C], its
 * scaling and layout in the graph) runs in onnxruntime-node; every probability within `tolerance` and identical labels.
 */
export async function checkOnnxImageParity(
  bytes: Uint8Array,
  images: SplitImages,
  expected: number[][],
  tolerance: number,
): Promise<ParityReport> {
  const count = images.labels.length;
  if (count === 0 || expected.length !== count) {
    return {
      rows: count,
      maxAbsDifference: Number.POSITIVE_INFINITY,
      labelMismatches: count,
      passed: false,
      reason: count === 0 ? 'no rows' : `${expected.length} TensorFlow.js answers for ${count} test images`,
    };
  }
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  const { height, width, channels } = images.image;
  const size = height * width * channels;
  let maxAbsDifference = 0;
  let labelMismatches = 0;
  try {
    for (let start = 0; start < count; start += PARITY_BATCH) {
      const n = Math.min(PARITY_BATCH, count - start);
      const pixels = images.pixels.subarray(start * size, (start + n) * size);
      const outputs = await session.run({
        [ONNX_INPUT_NAME]: new ort.Tensor('uint8', pixels, [n, height, width, channels]),
      });
      const probabilities = outputs[ONNX_PROBABILITIES_OUTPUT].data as Float32Array;
      const labels = outputs[ONNX_LABEL_OUTPUT].data as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const row = expected[start + i];
        row.forEach((p, k) => {
          const difference = Math.abs(p - probabilities[i * row.length + k]);
          if (difference > maxAbsDifference || Number.isNaN(difference)) maxAbsDifference = difference;
        });
        if (Number(labels[i]) !== argmax(row)) labelMismatches++;
      }
    }
  } finally {
    await session.release();
  }
  const problems = [
    ...(maxAbsDifference <= tolerance ? [] : [`max |ONNX - tf| = ${maxAbsDifference} is over ${tolerance}`]),
    ...(labelMismatches === 0 ? [] : [`${labelMismatches} of ${count} labels differ`]),
  ];
  return {
    rows: count,
    maxAbsDifference,
    labelMismatches,
    passed: problems.length === 0,
    ...(problems.length > 0 ? { reason: `ONNX parity check failed: ${problems.join('; ')}` } : {}),
  };
}
