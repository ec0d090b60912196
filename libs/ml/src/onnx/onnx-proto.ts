import { parse, type Root, type Type } from 'protobufjs';

/**
 * The subset of onnx.proto (proto2) the exporter writes, with the official field numbers, plus what the upload check
 * (validateOnnxModel) reads: sparse tensors and local functions. Fields that refer to messages left out here
 * (training info, sequence/map types, ...) are omitted; protobuf skips them as unknown fields when decoding.
 */
export const ONNX_PROTO_SOURCE = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    GRAPH = 5;
    FLOATS = 6;
    INTS = 7;
    STRINGS = 8;
    TENSORS = 9;
    GRAPHS = 10;
    SPARSE_TENSOR = 11;
    SPARSE_TENSORS = 12;
    TYPE_PROTO = 13;
    TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated TypeProto type_protos = 15;
  optional SparseTensorProto sparse_tensor = 22;
  repeated SparseTensorProto sparse_tensors = 23;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated FunctionProto functions = 25;
}

message FunctionProto {
  optional string name = 1;
  optional string domain = 10;
}

message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    UINT8 = 2;
    INT8 = 3;
    UINT16 = 4;
    INT16 = 5;
    INT32 = 6;
    INT64 = 7;
    STRING = 8;
    BOOL = 9;
    FLOAT16 = 10;
    DOUBLE = 11;
    UINT32 = 12;
    UINT64 = 13;
    COMPLEX64 = 14;
    COMPLEX128 = 15;
    BFLOAT16 = 16;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  enum DataLocation {
    DEFAULT = 0;
    EXTERNAL = 1;
  }
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

/** Reads only metadata_props (field 14 of ModelProto), skipping the graph and its weights. */
const METADATA_VIEW_SOURCE = `
syntax = "proto2";
package sepal;
message ModelMetadataView {
  repeated onnx.StringStringEntryProto metadata_props = 14;
}
`;

/**
 * What the upload check (validateOnnxModel) reads of a ModelProto, with onnx.proto's field numbers: versions, opsets,
 * local functions, and the graph's nodes, attributes and tensors down to where their data lives. Weights (raw_data,
 * float_data, ...) and attribute values (floats, ints, strings: a tree ensemble's millions of them) are left out, so
 * protobuf skips them instead of building an object per element (2.1 s for a 6.8 MB ensemble decoded in full,
 * on the registry's event loop).
 */
const CHECK_VIEW_SOURCE = `
syntax = "proto2";
package sepal;
message CheckModel {
  optional int64 ir_version = 1;
  repeated onnx.OperatorSetIdProto opset_import = 8;
  optional CheckGraph graph = 7;
  repeated CheckFunction functions = 25;
}
message CheckFunction {
  optional string name = 1;
  optional string domain = 10;
}
message CheckGraph {
  repeated CheckNode node = 1;
  repeated CheckTensor initializer = 5;
  repeated CheckSparseTensor sparse_initializer = 15;
}
message CheckNode {
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated CheckAttribute attribute = 5;
}
message CheckAttribute {
  optional string name = 1;
  optional CheckTensor t = 5;
  optional CheckGraph g = 6;
  repeated CheckTensor tensors = 10;
  repeated CheckGraph graphs = 11;
  optional CheckSparseTensor sparse_tensor = 22;
  repeated CheckSparseTensor sparse_tensors = 23;
}
message CheckTensor {
  optional string name = 8;
  repeated onnx.StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}
message CheckSparseTensor {
  optional CheckTensor values = 1;
  optional CheckTensor indices = 2;
}
`;

/** TensorProto.DataType values used by the exporter. */
export const TensorElementType = { FLOAT: 1, UINT8: 2, INT64: 7, STRING: 8, DOUBLE: 11 } as const;
export type TensorElementType = (typeof TensorElementType)[keyof typeof TensorElementType];

/** AttributeProto.AttributeType values used by the exporter. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

let root: Root | undefined;

function onnxRoot(): Root {
  if (root === undefined) {
    const parsed = parse(ONNX_PROTO_SOURCE, { keepCase: true }).root;
    parse(METADATA_VIEW_SOURCE, parsed, { keepCase: true });
    parse(CHECK_VIEW_SOURCE, parsed, { keepCase: true });
    parsed.resolveAll();
    root = parsed;
  }
  return root;
}

export function modelProtoType(): Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}

export function modelMetadataViewType(): Type {
  return onnxRoot().lookupType('sepal.ModelMetadataView');
}

export function modelCheckViewType(): Type {
  return onnxRoot().lookupType('sepal.CheckModel');
}
