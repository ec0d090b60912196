import { exportDenseClassifierToOnnx } from '@sepal/ml';
import { modelProtoType } from '@sepal/ml/onnx/onnx-proto';

/**
 * A small, valid ONNX classifier (2 features, 2 classes) for tests that upload artifacts: the registry accepts only
 * ONNX models. `tag` goes into its metadata, so each tag gives different bytes (a different SHA-256).
 */
export function smallOnnxModel(tag: string): Buffer {
  return Buffer.from(
    exportDenseClassifierToOnnx(
      {
        featureNames: ['a', 'b'],
        labels: ['x', 'y'],
        standardizer: { mean: [0, 0], std: [1, 1] },
        layers: [
          {
            inputs: 2,
            units: 2,
            activation: 'softmax',
            kernel: Float32Array.of(1, 0, 0, 1),
            bias: Float32Array.of(0, 0),
          },
        ],
      },
      { label_map: '["x","y"]', test_tag: tag },
    ),
  );
}

/** A well-formed ONNX model whose one node runs an operator of `domain` (e.g. a custom op in `com.microsoft`). */
export function onnxModelUsing(domain: string, opType = 'CustomOp'): Buffer {
  const ModelProto = modelProtoType();
  const model = ModelProto.fromObject({
    ir_version: 8,
    opset_import: [
      { domain: '', version: 17 },
      { domain, version: 1 },
    ],
    producer_name: 'sepal-tests',
    graph: {
      name: 'g',
      node: [{ name: 'n', op_type: opType, domain, input: ['x'], output: ['y'] }],
    },
  });
  return Buffer.from(ModelProto.encode(model).finish());
}
