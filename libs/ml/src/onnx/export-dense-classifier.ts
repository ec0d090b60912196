import type { Activation, DenseClassifierSpec } from '../model/dense-spec';
import { assertValidDenseClassifierSpec } from '../model/validate-dense-spec';
import { floatTensor, graphNode, intAttribute, tensorValueInfo } from './onnx-builders';
import type { GraphMessage, ModelMessage, NodeMessage, TensorMessage } from './onnx-messages';
import { modelProtoType, TensorElementType } from './onnx-proto';

/** IR version 8 is what ONNX 1.10-1.12 checkers accept; opset 17 has every operator used here. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET_VERSION = 17;
export const ONNX_PRODUCER_NAME = 'sepal';

export const ONNX_INPUT_NAME = 'features';
export const ONNX_PROBABILITIES_OUTPUT = 'probabilities';
export const ONNX_LABEL_OUTPUT = 'label';
const BATCH_DIMENSION = 'N';

const ACTIVATION_OPERATORS: Record<Exclude<Activation, 'linear'>, string> = {
  relu: 'Relu',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  softmax: 'Softmax',
};

/**
 * Serialises a dense classifier as an ONNX model that takes raw features ("features", float32 [N, F]) and
 * returns "probabilities" (float32 [N, k]) and "label" (int64 [N], the class index), with the
 * standardisation inside the graph. `metadata` goes to metadata_props unchanged.
 */
export function exportDenseClassifierToOnnx(
  spec: DenseClassifierSpec,
  metadata: Record<string, string>,
): Uint8Array {
  assertValidDenseClassifierSpec(spec);
  const model: ModelMessage = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producer_name: ONNX_PRODUCER_NAME,
    graph: buildGraph(spec),
    metadata_props: metadataEntries(metadata),
  };
  const ModelProto = modelProtoType();
  const problem = ModelProto.verify(model);
  if (problem !== null) {
    throw new Error(`exportDenseClassifierToOnnx: the model does not match the ONNX schema: ${problem}`);
  }
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

function buildGraph(spec: DenseClassifierSpec): GraphMessage {
  const featureCount = spec.featureNames.length;
  const nodes: NodeMessage[] = [
    graphNode('Sub', [ONNX_INPUT_NAME, 'standardizer_mean'], ['centred']),
    graphNode('Div', ['centred', 'standardizer_std'], ['standardized']),
  ];
  const initializers: TensorMessage[] = [
    floatTensor('standardizer_mean', [featureCount], spec.standardizer.mean),
    floatTensor('standardizer_std', [featureCount], spec.standardizer.std),
  ];
  let current = 'standardized';
  spec.layers.forEach((layer, index) => {
    const isOutput = index === spec.layers.length - 1;
    const kernel = `dense_${index}_kernel`;
    const bias = `dense_${index}_bias`;
    // The kernel is row-major [inputs x units], so it is Gemm's B without transposition.
    initializers.push(floatTensor(kernel, [layer.inputs, layer.units], layer.kernel));
    initializers.push(floatTensor(bias, [layer.units], layer.bias));
    const preActivation = `dense_${index}`;
    nodes.push(graphNode('Gemm', [current, kernel, bias], [preActivation]));
    current = preActivation;
    if (layer.activation !== 'linear') {
      const activated = isOutput ? ONNX_PROBABILITIES_OUTPUT : `dense_${index}_${layer.activation}`;
      const attributes = layer.activation === 'softmax' ? [intAttribute('axis', -1)] : [];
      nodes.push(graphNode(ACTIVATION_OPERATORS[layer.activation], [current], [activated], attributes));
      current = activated;
    }
  });
  // The label is taken from the probabilities the client sees, so the two outputs can never disagree.
  nodes.push(
    graphNode(
      'ArgMax',
      [ONNX_PROBABILITIES_OUTPUT],
      [ONNX_LABEL_OUTPUT],
      [intAttribute('axis', 1), intAttribute('keepdims', 0)],
    ),
  );
  const classCount = spec.labels.length;
  return {
    name: 'sepal_dense_classifier',
    node: nodes,
    initializer: initializers,
    input: [tensorValueInfo(ONNX_INPUT_NAME, TensorElementType.FLOAT, [BATCH_DIMENSION, featureCount])],
    output: [
      tensorValueInfo(ONNX_PROBABILITIES_OUTPUT, TensorElementType.FLOAT, [BATCH_DIMENSION, classCount]),
      tensorValueInfo(ONNX_LABEL_OUTPUT, TensorElementType.INT64, [BATCH_DIMENSION]),
    ],
  };
}

function metadataEntries(metadata: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(metadata).map(([key, value]) => {
    if (key === '' || typeof value !== 'string') {
      throw new Error(
        `exportDenseClassifierToOnnx: metadata "${key}" must have a non-empty key and a string value`,
      );
    }
    return { key, value };
  });
}
