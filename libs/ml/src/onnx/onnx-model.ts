import { graphNode, intAttribute, tensorValueInfo } from './onnx-builders';
import type { GraphMessage, ModelMessage, NodeMessage, ValueInfoMessage } from './onnx-messages';
import { modelProtoType, TensorElementType } from './onnx-proto';

/** IR version 8 is what ONNX 1.10-1.12 checkers accept; opset 17 has every operator used here. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET_VERSION = 17;
/** The traditional-ML operator set (tree ensembles); version 3 is the latest IR 8 knows. */
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
export const ONNX_ML_OPSET_VERSION = 3;
export const ONNX_PRODUCER_NAME = 'sepal';

/** The names every exported model shares, so the gateway reads any of them alike. */
export const ONNX_INPUT_NAME = 'features';
/** The raw categorical cells, string [N, categorical columns]: an input only of models with categorical columns. */
export const ONNX_CATEGORICAL_INPUT = 'categorical';
/** Each row's index into the models of a stacked classifier, int64 [N]: an input only of stacked models. */
export const ONNX_MODEL_INDEX_INPUT = 'model';
export const ONNX_PROBABILITIES_OUTPUT = 'probabilities';
export const ONNX_LABEL_OUTPUT = 'label';
export const ONNX_VALUE_OUTPUT = 'value';
export const BATCH_DIMENSION = 'N';

/** The raw features, float32 [N, F]: the one input of every exported model. */
export function featuresInput(featureCount: number): ValueInfoMessage {
  return tensorValueInfo(ONNX_INPUT_NAME, TensorElementType.FLOAT, [BATCH_DIMENSION, featureCount]);
}

/** A classifier's outputs: probabilities float32 [N, k], then label int64 [N] (the class index). */
export function classifierOutputs(classCount: number): ValueInfoMessage[] {
  return [
    tensorValueInfo(ONNX_PROBABILITIES_OUTPUT, TensorElementType.FLOAT, [BATCH_DIMENSION, classCount]),
    tensorValueInfo(ONNX_LABEL_OUTPUT, TensorElementType.INT64, [BATCH_DIMENSION]),
  ];
}

/** A regressor's output: value float32 [N, 1]. */
export function regressorOutputs(): ValueInfoMessage[] {
  return [tensorValueInfo(ONNX_VALUE_OUTPUT, TensorElementType.FLOAT, [BATCH_DIMENSION, 1])];
}

/** The label is taken from the probabilities the client sees, so the two outputs can never disagree. */
export function labelFromProbabilitiesNode(): NodeMessage {
  return graphNode(
    'ArgMax',
    [ONNX_PROBABILITIES_OUTPUT],
    [ONNX_LABEL_OUTPUT],
    [intAttribute('axis', 1), intAttribute('keepdims', 0)],
  );
}

/**
 * Serialises `graph` as a model with the opsets it needs and `metadata` in metadata_props; `what` names the exporter
 * in errors. Checks the message against the embedded schema first.
 */
export function encodeOnnxModel(
  graph: GraphMessage,
  metadata: Record<string, string>,
  what: string,
  { withMlOpset = false }: { withMlOpset?: boolean } = {},
): Uint8Array {
  const model: ModelMessage = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [
      { domain: '', version: ONNX_OPSET_VERSION },
      ...(withMlOpset ? [{ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET_VERSION }] : []),
    ],
    producer_name: ONNX_PRODUCER_NAME,
    graph,
    metadata_props: metadataEntries(metadata, what),
  };
  const ModelProto = modelProtoType();
  const problem = ModelProto.verify(model);
  if (problem !== null) {
    throw new Error(`${what}: the model does not match the ONNX schema: ${problem}`);
  }
  // The plain object already has the wire types (numbers, Uint8Array bytes), so it is encoded as it is: fromObject
  // would copy every element of a large tree ensemble's attributes for the same bytes.
  return ModelProto.encode(model).finish();
}

function metadataEntries(metadata: Record<string, string>, what: string): { key: string; value: string }[] {
  return Object.entries(metadata).map(([key, value]) => {
    if (key === '' || typeof value !== 'string') {
      throw new Error(`${what}: metadata "${key}" must have a non-empty key and a string value`);
    }
    return { key, value };
  });
}
