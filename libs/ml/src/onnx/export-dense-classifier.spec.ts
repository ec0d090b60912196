import type { DenseClassifierSpec } from '../model/dense-spec';
import { exportDenseClassifierToOnnx } from './export-dense-classifier';
import { modelProtoType } from './onnx-proto';

const spec: DenseClassifierSpec = {
  featureNames: ['a', 'b'],
  labels: ['x', 'y', 'z'],
  standardizer: { mean: [1, 2], std: [0.5, 4] },
  layers: [
    {
      inputs: 2,
      units: 3,
      activation: 'sigmoid',
      kernel: Float32Array.of(1, 2, 3, 4, 5, 6),
      bias: Float32Array.of(0, 0, 1),
    },
    {
      inputs: 3,
      units: 2,
      activation: 'linear',
      kernel: Float32Array.of(1, 0, 0, 1, 1, 1),
      bias: Float32Array.of(0, 0),
    },
    {
      inputs: 2,
      units: 3,
      activation: 'softmax',
      kernel: Float32Array.of(1, 2, 3, 4, 5, 6),
      bias: Float32Array.of(0, 1, 2),
    },
  ],
};

interface DecodedTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

/** Decodes with the exporter's own schema; the integration tests check the bytes against onnxruntime and onnx. */
function decode(bytes: Uint8Array) {
  const ModelProto = modelProtoType();
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as {
    ir_version: number;
    producer_name: string;
    opset_import: { domain?: string; version: number }[];
    metadata_props: { key: string; value: string }[];
    graph: {
      node: {
        op_type: string;
        input: string[];
        output: string[];
        attribute?: { name: string; i: number }[];
      }[];
      initializer: DecodedTensor[];
      input: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
      output: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
    };
  };
}

function floats(tensor: DecodedTensor): number[] {
  const view = new DataView(tensor.raw_data.buffer, tensor.raw_data.byteOffset, tensor.raw_data.byteLength);
  return Array.from({ length: tensor.raw_data.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

describe('exportDenseClassifierToOnnx', () => {
  const model = decode(exportDenseClassifierToOnnx(spec, { model_name: 'iris', run_id: 'r1' }));

  it('declares IR version 8, opset 17 of the default domain and the producer', () => {
    expect(model.ir_version).toBe(8);
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.producer_name).toBe('sepal');
  });

  it('standardises, applies each layer and its activation, then softmax and argmax', () => {
    expect(model.graph.node.map((node) => node.op_type)).toEqual([
      'Sub',
      'Div',
      'Gemm',
      'Sigmoid',
      'Gemm',
      'Gemm',
      'Softmax',
      'ArgMax',
    ]);
    const argMax = model.graph.node[model.graph.node.length - 1];
    expect(argMax.input).toEqual(['probabilities']);
    expect(argMax.output).toEqual(['label']);
    expect(argMax.attribute).toEqual([
      { name: 'axis', type: 2, i: 1 },
      { name: 'keepdims', type: 2, i: 0 },
    ]);
    expect(model.graph.node[6].attribute).toEqual([{ name: 'axis', type: 2, i: -1 }]);
  });

  it('stores the standardiser and the weights as float initializers with [inputs, units] kernels', () => {
    const byName = new Map(model.graph.initializer.map((tensor) => [tensor.name, tensor]));
    expect(floats(byName.get('standardizer_mean')!)).toEqual([1, 2]);
    expect(floats(byName.get('standardizer_std')!)).toEqual([0.5, 4]);
    const kernel = byName.get('dense_0_kernel')!;
    expect(kernel.dims).toEqual([2, 3]);
    expect(kernel.data_type).toBe(1);
    expect(floats(kernel)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(floats(byName.get('dense_2_bias')!)).toEqual([0, 1, 2]);
  });

  it('declares features [N, F] float, probabilities [N, k] float and label [N] int64', () => {
    const [input] = model.graph.input;
    expect(input.name).toBe('features');
    expect(input.type.tensor_type).toEqual({
      elem_type: 1,
      shape: { dim: [{ dim_param: 'N' }, { dim_value: 2 }] },
    });
    const [probabilities, label] = model.graph.output;
    expect(probabilities.name).toBe('probabilities');
    expect(probabilities.type.tensor_type).toEqual({
      elem_type: 1,
      shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }] },
    });
    expect(label.name).toBe('label');
    expect(label.type.tensor_type).toEqual({ elem_type: 7, shape: { dim: [{ dim_param: 'N' }] } });
  });

  it('writes the metadata as given', () => {
    expect(model.metadata_props).toEqual([
      { key: 'model_name', value: 'iris' },
      { key: 'run_id', value: 'r1' },
    ]);
  });

  it('produces the same bytes for the same input', () => {
    expect(exportDenseClassifierToOnnx(spec, { a: '1' })).toEqual(
      exportDenseClassifierToOnnx(spec, { a: '1' }),
    );
  });

  it('rejects an invalid spec and non-string metadata', () => {
    expect(() => exportDenseClassifierToOnnx({ ...spec, labels: ['x', 'y'] }, {})).toThrow(
      /output layer has 3 units for 2 labels/,
    );
    expect(() =>
      exportDenseClassifierToOnnx(spec, { version: 3 } as unknown as Record<string, string>),
    ).toThrow(/metadata "version" must have a non-empty key and a string value/);
  });
});
