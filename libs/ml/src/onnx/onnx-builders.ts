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

/** An int64 initializer (e.g. Gather indices); dims [] makes a scalar. raw_data is little-endian. */
export function int64Tensor(name: string, dims: number[], values: ArrayLike<number>): TensorMessage {
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (values.length !== expected) {
    throw new Error(`int64Tensor ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  }
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return { name, dims, data_type: TensorElementType.INT64, raw_data: bytes };
}

export function floatAttribute(name: string, value: number): AttributeMessage {
  return { name, type: AttributeType.FLOAT, f: value };
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

export function intsAttribute(name: string, values: number[]): AttributeMessage {
  return { name, type: AttributeType.INTS, ints: values };
}

/** Stored as float32, as the FLOATS attribute type is. */
export function floatsAttribute(name: string, values: number[]): AttributeMessage {
  return { name, type: AttributeType.FLOATS, floats: values };
}

export function stringAttribute(name: string, value: string): AttributeMessage {
  return { name, type: AttributeType.STRING, s: utf8(value) };
}

export function stringsAttribute(name: string, values: string[]): AttributeMessage {
  const encoded = new Map<string, Uint8Array>();
  // Repeated values (a tree's node modes) share one encoding.
  const strings = values.map((value) => {
    let bytes = encoded.get(value);
    if (bytes === undefined) encoded.set(value, (bytes = utf8(value)));
    return bytes;
  });
  return { name, type: AttributeType.STRINGS, strings };
}

export function graphNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: AttributeMessage[] = [],
  domain?: string,
): NodeMessage {
  return {
    name: `${outputs[0]}_${opType}`,
    op_type: opType,
    ...(domain === undefined ? {} : { domain }),
    input: inputs,
    output: outputs,
    attribute: attributes,
  };
}

function utf8(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}
