import type { Activation, DenseClassifierSpec } from '../model/dense-spec';
import { assertValidDenseClassifierSpec } from '../model/validate-dense-spec';
import { floatTensor, graphNode, intAttribute } from './onnx-builders';
import type { GraphMessage, NodeMessage, TensorMessage } from './onnx-messages';
import {
  classifierOutputs,
  encodeOnnxModel,
  featuresInput,
  labelFromProbabilitiesNode,
  ONNX_INPUT_NAME,
  ONNX_PROBABILITIES_OUTPUT,
} from './onnx-model';

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
  return encodeOnnxModel(buildGraph(spec), metadata, 'exportDenseClassifierToOnnx');
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
  nodes.push(labelFromProbabilitiesNode());
  return {
    name: 'sepal_dense_classifier',
    node: nodes,
    initializer: initializers,
    input: [featuresInput(featureCount)],
    output: classifierOutputs(spec.labels.length),
  };
}
