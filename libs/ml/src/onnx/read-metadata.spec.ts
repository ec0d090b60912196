import type { DenseClassifierSpec } from '../model/dense-spec';
import { exportDenseClassifierToOnnx } from './export-dense-classifier';
import { readOnnxMetadata } from './read-metadata';

const spec: DenseClassifierSpec = {
  featureNames: ['a'],
  labels: ['no', 'yes'],
  standardizer: { mean: [0], std: [1] },
  layers: [
    {
      inputs: 1,
      units: 2,
      activation: 'softmax',
      kernel: Float32Array.of(1, -1),
      bias: Float32Array.of(0, 0),
    },
  ],
};

describe('readOnnxMetadata', () => {
  it('returns the metadata written by the exporter, including JSON and non-ASCII values', () => {
    const metadata = {
      model_name: 'iris-classifier',
      label_map: JSON.stringify({ 0: 'Iris-setosa', 1: 'Iris-versicolor' }),
      feature_names: JSON.stringify(['sépale longueur', '花びら']),
      dataset_version: 'a'.repeat(64),
      run_id: '',
    };
    expect(readOnnxMetadata(exportDenseClassifierToOnnx(spec, metadata))).toEqual(metadata);
  });

  it('returns an empty object for a model without metadata', () => {
    expect(readOnnxMetadata(exportDenseClassifierToOnnx(spec, {}))).toEqual({});
  });

  it('keeps a key named __proto__ as data', () => {
    const metadata = readOnnxMetadata(exportDenseClassifierToOnnx(spec, JSON.parse('{"__proto__": "x"}')));
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('x');
  });

  it('throws a clear error for bytes that are not a model', () => {
    expect(() => readOnnxMetadata(Uint8Array.of(0x72, 0xff, 0xff, 0xff))).toThrow(
      /not a readable ONNX model/,
    );
  });
});
