import type { AttributeMessage, NodeMessage, TensorMessage, ValueInfoMessage } from './onnx-messages';
import { AttributeType, TensorElementType } from './onnx-proto';

/** A float32 initializer; raw_data is little-endian whatever the host, as ONNX requires. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorMessage {
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (values.length !== expected) {
    throw new Error(`floatTensor ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  }
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { name, dims, data_type: TensorElementType.FLOAT, raw_data: bytes };
}

/** A tensor input or output; a string dimension is symbolic (e.g. the batch size "N"). */
export function tensorValueInfo(
  name: string,
  elementType: TensorElementType,
  shape: (number | string)[],
): ValueInfoMessage {
  const dim = shape.map((size) => (typeof size === 'string' ? { dim_param: size } : { dim_value: size }));
  return { name, type: { tensor_type: { elem_type: elementType, shape: { dim } } } };
}

export function intAttribute(name: string, value: number): AttributeMessage {
  return { name, type: AttributeType.INT, i: value };
}

export function graphNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: AttributeMessage[] = [],
): NodeMessage {
  return {
    name: `${outputs[0]}_${opType}`,
    op_type: opType,
    input: inputs,
    output: outputs,
    attribute: attributes,
  };
}
