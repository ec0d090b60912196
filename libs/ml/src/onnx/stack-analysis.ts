/** Which classifiers stack: reads an ONNX model into a ClassifierPlan, or says why it cannot be stacked. */
import {
  ONNX_INPUT_NAME,
  ONNX_LABEL_OUTPUT,
  ONNX_ML_DOMAIN,
  ONNX_OPSET_VERSION,
  ONNX_PROBABILITIES_OUTPUT,
} from './onnx-model';
import { AttributeType, modelProtoType, TensorElementType } from './onnx-proto';
import type { Analysis, ClassifierPlan, Operand, PlanNode } from './stack-plan';

/** The plain object protobufjs decodes a model to (defaults: false, so absent fields are undefined). */
interface DecodedModel {
  opset_import?: { domain?: string; version?: number }[];
  graph?: {
    node?: DecodedNode[];
    initializer?: DecodedTensor[];
    input?: DecodedValueInfo[];
    output?: DecodedValueInfo[];
  };
}

interface DecodedNode {
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: { name?: string; type?: number; i?: number; f?: number; floats?: number[] }[];
}

interface DecodedTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  raw_data?: Uint8Array;
  data_location?: number;
}

interface DecodedValueInfo {
  name?: string;
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } };
  };
}

/** The model is not a classifier the stacker supports; the message says why. */
export class NotStackable extends Error {}

const ELEMENTWISE = new Set(['Sub', 'Div', 'Add', 'Mul']);
const UNARY = new Set(['Relu', 'Tanh', 'Sigmoid']);
const SUPPORTED = new Set([...ELEMENTWISE, ...UNARY, 'Gemm', 'Softmax', 'ArgMax']);
/** The default domain's opsets whose semantics of every supported operator equal opset 17's. */
const MIN_OPSET_VERSION = 13;

/** The plan, stack key and weights of a model; throws NotStackable naming what is not supported. */
export function analyse(bytes: Uint8Array): Analysis {
  let model: DecodedModel;
  try {
    const ModelProto = modelProtoType();
    model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as DecodedModel;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NotStackable(`not a readable ONNX model (${reason})`);
  }
  const graph = model.graph ?? {};
  const opsets = checkOpsets(model.opset_import ?? []);
  const features = checkInput(graph.input ?? []);

  const initializers = new Map<string, DecodedTensor>();
  for (const tensor of graph.initializer ?? []) initializers.set(tensor.name ?? '', tensor);
  const widths = new Map<string, number>([[ONNX_INPUT_NAME, features]]);
  const labels = new Set<string>();
  const weights = new Map<string, Float32Array>();
  const weightDims: [string, number[]][] = [];

  /** A float initializer of `rank` as a weight of the plan; its values are read once however often it is used. */
  const weight = (name: string, rank: number): number[] => {
    const tensor = initializers.get(name);
    if (tensor === undefined)
      throw new NotStackable(`"${name}" is neither a computed tensor nor an initializer`);
    const dims = tensor.dims ?? [];
    if (dims.length !== rank)
      throw new NotStackable(`initializer "${name}" has ${dims.length} dims, not ${rank}`);
    if (!weights.has(name)) {
      weights.set(name, floatValues(tensor));
      weightDims.push([name, dims]);
    }
    return dims;
  };
  const activation = (name: string | undefined): number => {
    const width = name === undefined ? undefined : widths.get(name);
    if (width === undefined)
      throw new NotStackable(`"${name}" is not a float [N, width] tensor computed before`);
    return width;
  };

  const nodes = (graph.node ?? []).map((node): PlanNode => {
    const op = node.op_type ?? '';
    const domain = node.domain ?? '';
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    const output = outputs[0];
    if (outputs.length !== 1 || output === '' || widths.has(output) || labels.has(output)) {
      throw new NotStackable(`${op} must have one output with a new name`);
    }
    if (initializers.has(output)) throw new NotStackable(`${op}'s output "${output}" is also an initializer`);
    const imputer = domain === ONNX_ML_DOMAIN && op === 'Imputer';
    if (!imputer && !((domain === '' || domain === 'ai.onnx') && SUPPORTED.has(op))) {
      throw new NotStackable(`the operator ${domain === '' ? '' : `${domain}:`}${op} is not supported`);
    }
    const attributes = attributeValues(node);
    const expectInputs = (count: number): void => {
      if (inputs.length !== count) throw new NotStackable(`${op} has ${inputs.length} inputs, not ${count}`);
    };
    const expectAttributes = (allowed: Record<string, number>): void => {
      for (const [name, value] of attributes) {
        if (allowed[name] !== value)
          throw new NotStackable(`${op} has the unsupported attribute ${name}=${value}`);
      }
    };
    if (imputer) {
      expectInputs(1);
      const width = activation(inputs[0]);
      const medians = imputerMedians(node, width);
      const id = `${output}_medians`;
      if (initializers.has(id) || weights.has(id)) throw new NotStackable(`"${id}" names an initializer`);
      weights.set(id, medians);
      weightDims.push([id, [width]]);
      widths.set(output, width);
      return { op: 'Imputer', input: inputs[0], medians: id, output };
    }
    if (ELEMENTWISE.has(op)) {
      expectInputs(2);
      expectAttributes({});
      const activationAt = inputs.findIndex((name) => widths.has(name));
      if (activationAt === -1) throw new NotStackable(`${op} has no computed operand`);
      const width = activation(inputs[activationAt]);
      const weightName = inputs[1 - activationAt];
      const [size] = weight(weightName, 1);
      if (size !== width && size !== 1) {
        throw new NotStackable(`${op}'s initializer "${weightName}" has ${size} values for width ${width}`);
      }
      widths.set(output, width);
      const operands = inputs.map((name, i): Operand =>
        i === activationAt ? { activation: name } : { weight: name },
      );
      return { op: op as 'Sub', inputs: operands as [Operand, Operand], output };
    }
    if (op === 'Gemm') {
      expectInputs(3);
      expectAttributes({ alpha: 1, beta: 1, transA: 0, transB: 0 });
      const width = activation(inputs[0]);
      const [rows, units] = weight(inputs[1], 2);
      const [biasSize] = weight(inputs[2], 1);
      if (rows !== width || biasSize !== units) {
        throw new NotStackable(
          `Gemm "${output}" takes width ${width} by [${rows}, ${units}] plus [${biasSize}]`,
        );
      }
      widths.set(output, units);
      return { op: 'Gemm', input: inputs[0], kernel: inputs[1], bias: inputs[2], output };
    }
    if (UNARY.has(op)) {
      expectInputs(1);
      expectAttributes({});
      widths.set(output, activation(inputs[0]));
      return { op: op as 'Relu', input: inputs[0], output };
    }
    if (op === 'Softmax') {
      expectInputs(1);
      const axis = attributes.get('axis') ?? -1;
      expectAttributes({ axis: axis === 1 ? 1 : -1 });
      widths.set(output, activation(inputs[0]));
      return { op: 'Softmax', input: inputs[0], output, axis };
    }
    if (op === 'ArgMax') {
      expectInputs(1);
      if (attributes.get('axis') !== 1 || attributes.get('keepdims') !== 0) {
        throw new NotStackable('ArgMax must take axis 1 with keepdims 0');
      }
      expectAttributes({ axis: 1, keepdims: 0, select_last_index: 0 });
      activation(inputs[0]);
      labels.add(output);
      return { op: 'ArgMax', input: inputs[0], output };
    }
    throw new NotStackable(`the operator ${op} is not supported`);
  });

  const classes = checkOutputs(graph.output ?? [], widths, labels);
  const plan: ClassifierPlan = { opsets, features, classes, nodes, weightDims };
  return { plan, key: JSON.stringify(plan), weights };
}

function checkOpsets(imports: NonNullable<DecodedModel['opset_import']>): [string, number][] {
  const opsets = imports.map(({ domain, version }): [string, number] => [domain ?? '', version ?? 0]);
  for (const [domain, version] of opsets) {
    if (domain !== '' && domain !== 'ai.onnx' && domain !== ONNX_ML_DOMAIN) {
      throw new NotStackable(`it imports the operator set "${domain}"`);
    }
    if (domain !== ONNX_ML_DOMAIN && (version < MIN_OPSET_VERSION || version > ONNX_OPSET_VERSION)) {
      throw new NotStackable(`it imports opset ${version}, not ${MIN_OPSET_VERSION}-${ONNX_OPSET_VERSION}`);
    }
  }
  return opsets.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The width F of the one input, "features" float32 [N, F]. */
function checkInput(inputs: DecodedValueInfo[]): number {
  const names = inputs.map((input) => input.name);
  if (inputs.length !== 1 || names[0] !== ONNX_INPUT_NAME) {
    throw new NotStackable(`its inputs are [${names.join(', ')}], not [${ONNX_INPUT_NAME}]`);
  }
  const [, width] = batchShape(inputs[0], TensorElementType.FLOAT, 2);
  return width;
}

/** The class count k, checking the outputs are "probabilities" float32 [N, k] and "label" int64 [N] from ArgMax. */
function checkOutputs(outputs: DecodedValueInfo[], widths: Map<string, number>, labels: Set<string>): number {
  const names = outputs.map((output) => output.name);
  if (outputs.length !== 2 || names[0] !== ONNX_PROBABILITIES_OUTPUT || names[1] !== ONNX_LABEL_OUTPUT) {
    throw new NotStackable(
      `its outputs are [${names.join(', ')}], not [${ONNX_PROBABILITIES_OUTPUT}, ${ONNX_LABEL_OUTPUT}]`,
    );
  }
  const [, classes] = batchShape(outputs[0], TensorElementType.FLOAT, 2);
  if (widths.get(ONNX_PROBABILITIES_OUTPUT) !== classes) {
    throw new NotStackable(`"${ONNX_PROBABILITIES_OUTPUT}" is not computed with width ${classes}`);
  }
  batchShape(outputs[1], TensorElementType.INT64, 1);
  if (!labels.has(ONNX_LABEL_OUTPUT))
    throw new NotStackable(`"${ONNX_LABEL_OUTPUT}" is not computed by ArgMax`);
  return classes;
}

/** The fixed dims after a symbolic batch dimension, checking the element type and rank. */
function batchShape(info: DecodedValueInfo, elementType: number, rank: number): number[] {
  const tensor = info.type?.tensor_type;
  const dims = tensor?.shape?.dim ?? [];
  const fixed = dims.slice(1).map((dim) => dim.dim_value ?? -1);
  if (
    tensor?.elem_type !== elementType ||
    dims.length !== rank ||
    dims[0].dim_param === undefined ||
    fixed.some((size) => size < 1)
  ) {
    throw new NotStackable(
      `"${info.name}" is not a tensor of type ${elementType} shaped [N, ...] with rank ${rank}`,
    );
  }
  return [-1, ...fixed];
}

/** INT and FLOAT attributes by name; any other attribute type makes the node unsupported (Imputer reads its own). */
function attributeValues(node: DecodedNode): Map<string, number> {
  const values = new Map<string, number>();
  for (const attribute of node.attribute ?? []) {
    if (attribute.type === AttributeType.INT) values.set(attribute.name ?? '', attribute.i ?? 0);
    else if (attribute.type === AttributeType.FLOAT) values.set(attribute.name ?? '', attribute.f ?? 0);
    else if (node.op_type !== 'Imputer') {
      throw new NotStackable(`${node.op_type} has the unsupported attribute ${attribute.name}`);
    }
  }
  return values;
}

/** The medians of an Imputer replacing NaN with one value per column. */
function imputerMedians(node: DecodedNode, width: number): Float32Array {
  const attributes = new Map((node.attribute ?? []).map((attribute) => [attribute.name ?? '', attribute]));
  const medians = attributes.get('imputed_value_floats');
  const replaced = attributes.get('replaced_value_float');
  if (
    attributes.size !== 2 ||
    medians?.type !== AttributeType.FLOATS ||
    replaced?.type !== AttributeType.FLOAT ||
    !Number.isNaN(replaced.f)
  ) {
    throw new NotStackable('the Imputer must replace NaN (replaced_value_float) by imputed_value_floats');
  }
  const values = medians.floats ?? [];
  if (values.length !== width) {
    throw new NotStackable(`the Imputer has ${values.length} imputed values for width ${width}`);
  }
  return Float32Array.from(values);
}

/** A float32 initializer's values, from float_data or little-endian raw_data. */
function floatValues(tensor: DecodedTensor): Float32Array {
  const name = tensor.name ?? '';
  if (tensor.data_type !== TensorElementType.FLOAT) {
    throw new NotStackable(`initializer "${name}" has data type ${tensor.data_type}, not float32`);
  }
  if (tensor.data_location === 1) throw new NotStackable(`initializer "${name}" is stored outside the model`);
  const count = (tensor.dims ?? []).reduce((product, dim) => product * dim, 1);
  const raw = tensor.raw_data;
  let values: Float32Array;
  if (raw !== undefined && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  } else {
    values = Float32Array.from(tensor.float_data ?? []);
  }
  if (values.length !== count || (raw !== undefined && raw.length % 4 !== 0)) {
    throw new NotStackable(
      `initializer "${name}" has ${values.length} values for dims [${tensor.dims?.join(', ')}]`,
    );
  }
  return values;
}
