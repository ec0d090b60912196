import type {
  Activation,
  DenseClassifierSpec,
  DenseLayerSpec,
  DenseRegressorSpec,
} from '../model/dense-spec';
import {
  assertValidDenseClassifierSpec,
  assertValidDenseRegressorSpec,
  denseInputPreprocessing,
} from '../model/validate-dense-spec';
import type { FeaturePreprocessing } from '../preprocessing/feature-preprocessing';
import { floatTensor, graphNode, intAttribute } from './onnx-builders';
import type { GraphMessage, NodeMessage, TensorMessage, ValueInfoMessage } from './onnx-messages';
import {
  classifierOutputs,
  encodeOnnxModel,
  labelFromProbabilitiesNode,
  ONNX_PROBABILITIES_OUTPUT,
  ONNX_VALUE_OUTPUT,
  regressorOutputs,
} from './onnx-model';
import { buildPreprocessingGraph } from './preprocessing-graph';

const ACTIVATION_OPERATORS: Record<Exclude<Activation, 'linear'>, string> = {
  relu: 'Relu',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  softmax: 'Softmax',
};

/**
 * Serialises a dense classifier as an ONNX model that takes raw features ("features" float32 [N, F], plus
 * "categorical" string [N, C] when it has categorical columns) and returns "probabilities" (float32 [N, k]) and
 * "label" (int64 [N], the class index), with its preprocessing inside the graph. `metadata` goes to metadata_props
 * unchanged.
 */
export function exportDenseClassifierToOnnx(
  spec: DenseClassifierSpec,
  metadata: Record<string, string>,
): Uint8Array {
  assertValidDenseClassifierSpec(spec);
  return encodeDense(
    'sepal_dense_classifier',
    denseInputPreprocessing(spec),
    spec.layers,
    ONNX_PROBABILITIES_OUTPUT,
    [labelFromProbabilitiesNode()],
    classifierOutputs(spec.labels.length),
    metadata,
    'exportDenseClassifierToOnnx',
  );
}

/**
 * Serialises a dense regressor: the same inputs as the classifier, and "value" float32 [N, 1] out (the last layer is
 * one linear unit in the target's units).
 */
export function exportDenseRegressorToOnnx(
  spec: DenseRegressorSpec,
  metadata: Record<string, string>,
): Uint8Array {
  assertValidDenseRegressorSpec(spec);
  return encodeDense(
    'sepal_dense_regressor',
    spec.preprocessing,
    spec.layers,
    ONNX_VALUE_OUTPUT,
    [],
    regressorOutputs(),
    metadata,
    'exportDenseRegressorToOnnx',
  );
}

function encodeDense(
  name: string,
  preprocessing: FeaturePreprocessing,
  layers: readonly DenseLayerSpec[],
  outputName: string,
  after: NodeMessage[],
  outputs: ValueInfoMessage[],
  metadata: Record<string, string>,
  what: string,
): Uint8Array {
  const front = buildPreprocessingGraph(preprocessing);
  const nodes: NodeMessage[] = [...front.nodes];
  const initializers: TensorMessage[] = [...front.initializers];
  let current = front.output;
  layers.forEach((layer, index) => {
    const isOutput = index === layers.length - 1;
    const kernel = `dense_${index}_kernel`;
    const bias = `dense_${index}_bias`;
    // The kernel is row-major [inputs x units], so it is Gemm's B without transposition.
    initializers.push(floatTensor(kernel, [layer.inputs, layer.units], layer.kernel));
    initializers.push(floatTensor(bias, [layer.units], layer.bias));
    const preActivation = isOutput && layer.activation === 'linear' ? outputName : `dense_${index}`;
    nodes.push(graphNode('Gemm', [current, kernel, bias], [preActivation]));
    current = preActivation;
    if (layer.activation !== 'linear') {
      const activated = isOutput ? outputName : `dense_${index}_${layer.activation}`;
      const attributes = layer.activation === 'softmax' ? [intAttribute('axis', -1)] : [];
      nodes.push(graphNode(ACTIVATION_OPERATORS[layer.activation], [current], [activated], attributes));
      current = activated;
    }
  });
  nodes.push(...after);
  const graph: GraphMessage = {
    name,
    node: nodes,
    initializer: initializers,
    input: front.inputs,
    output: outputs,
    ...(front.valueInfo.length > 0 ? { value_info: front.valueInfo } : {}),
  };
  return encodeOnnxModel(graph, metadata, what, { withMlOpset: front.usesMlOperators });
}
