/** Plain-object shapes of the ONNX messages the exporter builds (snake_case, as in onnx.proto). */
import type { TensorElementType } from './onnx-proto';

export interface TensorMessage {
  name: string;
  dims: number[];
  data_type: TensorElementType;
  raw_data: Uint8Array;
}

export interface AttributeMessage {
  name: string;
  type: number;
  i?: number;
  f?: number;
  /** UTF-8 bytes (protobufjs would read a JS string in a bytes field as base64). */
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
  strings?: Uint8Array[];
}

export interface NodeMessage {
  name: string;
  op_type: string;
  /** The operator set of op_type; the default ONNX domain when absent. */
  domain?: string;
  input: string[];
  output: string[];
  attribute: AttributeMessage[];
}

export type DimensionMessage = { dim_value: number } | { dim_param: string };

export interface ValueInfoMessage {
  name: string;
  type: { tensor_type: { elem_type: TensorElementType; shape: { dim: DimensionMessage[] } } };
}

export interface GraphMessage {
  name: string;
  node: NodeMessage[];
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
  /** Types of intermediate tensors that shape inference cannot derive (e.g. ai.onnx.ml Imputer's output). */
  value_info?: ValueInfoMessage[];
}

export interface ModelMessage {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version?: string;
  graph: GraphMessage;
  metadata_props: { key: string; value: string }[];
}
