import { forestOf, stump as oneSplit } from '../../test/fixtures/tree-data';
import { randomDenseClassifier, type HiddenLayerShape } from '../../test/fixtures/random-dense-classifier';
import type { DenseClassifierSpec, DenseRegressorSpec } from '../model/dense-spec';
import { numericPreprocessing } from '../preprocessing/feature-preprocessing';
import { createRng } from '../util/random';
import { exportDenseClassifierToOnnx, exportDenseRegressorToOnnx } from './export-dense-classifier';
import { exportTreeEnsembleClassifierToOnnx } from './export-tree-ensemble';
import { modelProtoType } from './onnx-proto';
import { classifierStackKey, stackClassifiers } from './stack-classifiers';

/** x1 <= 0.5 goes to leaf 1, else to leaf 2. */
const stump = (left: number[], right: number[]) => oneSplit(left, right, { feature: 1, threshold: 0.5 });

const HIDDEN: HiddenLayerShape[] = [
  { units: 6, activation: 'relu' },
  { units: 4, activation: 'tanh' },
];

function classifier(seed: number, features = 3, hidden = HIDDEN, classes = 3): DenseClassifierSpec {
  return randomDenseClassifier(createRng(seed), features, hidden, classes);
}

function onnx(spec: DenseClassifierSpec, metadata: Record<string, string> = {}): Uint8Array {
  return exportDenseClassifierToOnnx(spec, metadata);
}

interface PlainModel {
  opset_import: { domain?: string; version: number }[];
  metadata_props?: { key: string; value: string }[];
  graph: {
    node: {
      op_type: string;
      input: string[];
      output: string[];
      attribute?: { name: string; type?: number; i?: number }[];
    }[];
    initializer: {
      name: string;
      dims: number[];
      data_type: number;
      raw_data?: Uint8Array;
      float_data?: number[];
    }[];
    input: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
    output: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
  };
}

function decode(bytes: Uint8Array): PlainModel {
  const ModelProto = modelProtoType();
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as PlainModel;
}

function encode(model: PlainModel): Uint8Array {
  const ModelProto = modelProtoType();
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Sets an INT attribute of the first node of `opType`. */
function setIntAttribute(model: PlainModel, opType: string, name: string, value: number): void {
  const node = model.graph.node.find((candidate) => candidate.op_type === opType);
  if (node === undefined) throw new Error(`no ${opType} node`);
  node.attribute = [...(node.attribute ?? []).filter((a) => a.name !== name), { name, type: 2, i: value }];
}

describe('classifierStackKey', () => {
  it('is equal for classifiers of the same layer shapes with other weights, means and class names', () => {
    const a = classifier(1);
    const b = { ...classifier(2), labels: ['cat', 'dog', 'bird'], featureNames: ['x', 'y', 'z'] };
    const keyA = classifierStackKey(onnx(a, { model_name: 'a' }));
    expect(keyA).not.toBeNull();
    expect(classifierStackKey(onnx(b, { model_name: 'b', run_id: 'r' }))).toBe(keyA);
  });

  it('holds no weight value', () => {
    const spec = classifier(3);
    const key = classifierStackKey(onnx(spec)) ?? '';
    expect(key).not.toContain(String(spec.standardizer.mean[0]));
    expect(key).not.toContain(String(spec.layers[0].kernel[0]));
  });

  it('differs for another hidden size, activation, feature count, class count or preprocessing', () => {
    const key = classifierStackKey(onnx(classifier(1)));
    const variants = [
      classifier(1, 3, [{ units: 7, activation: 'relu' }, HIDDEN[1]]),
      classifier(1, 3, [{ units: 6, activation: 'sigmoid' }, HIDDEN[1]]),
      classifier(1, 3, [HIDDEN[0]]),
      classifier(1, 4),
      classifier(1, 3, HIDDEN, 4),
      { ...classifier(1), preprocessing: numericPreprocessing(['feature_0', 'feature_1', 'feature_2']) },
    ];
    const keys = variants.map((spec) => classifierStackKey(onnx(spec)));
    keys.forEach((other) => expect(other).not.toBeNull());
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('reads initializers from float_data as from raw_data', () => {
    const bytes = onnx(classifier(4));
    const model = decode(bytes);
    model.graph.initializer = model.graph.initializer.map(({ raw_data, ...tensor }) => ({
      ...tensor,
      float_data: Array.from(new Float32Array(Uint8Array.from(raw_data ?? []).buffer)),
    }));
    expect(classifierStackKey(encode(model))).toBe(classifierStackKey(bytes));
  });

  it('is null for a tree ensemble, a regressor, categorical columns and bytes that are not a model', () => {
    const forest = forestOf([stump([1, 0, 0], [0, 0.5, 0.5]), stump([0, 0, 1], [0, 1, 0])], {
      classCount: 3,
    });
    const spec = classifier(5, 2);
    const regressor: DenseRegressorSpec = {
      task: 'regression',
      featureNames: spec.featureNames,
      preprocessing: numericPreprocessing(spec.featureNames, spec.standardizer),
      layers: [
        spec.layers[0],
        {
          ...spec.layers[1],
          units: 1,
          activation: 'linear',
          kernel: new Float32Array(6),
          bias: new Float32Array(1),
        },
      ],
    };
    const mixed = classifier(6, 3);
    mixed.featureNames = ['a', 'b', 'colour'];
    mixed.preprocessing = {
      columns: [
        { name: 'a', type: 'numeric' },
        { name: 'b', type: 'numeric' },
        { name: 'colour', type: 'categorical' },
      ],
      medians: [0, 1],
      standardizer: { mean: [0, 0], std: [1, 1] },
      categories: [['red']],
    };
    expect(classifierStackKey(exportTreeEnsembleClassifierToOnnx(forest, {}))).toBeNull();
    expect(classifierStackKey(exportDenseRegressorToOnnx(regressor, {}))).toBeNull();
    expect(classifierStackKey(onnx(mixed))).toBeNull();
    expect(classifierStackKey(Uint8Array.of(0xff, 0xff, 0xff))).toBeNull();
  });

  it('is null for a Gemm with transB, a non-float initializer or a Softmax over another axis', () => {
    const bytes = onnx(classifier(7));
    const transposed = decode(bytes);
    setIntAttribute(transposed, 'Gemm', 'transB', 1);
    const doubled = decode(bytes);
    doubled.graph.initializer[0].data_type = 11;
    const softmax = decode(bytes);
    setIntAttribute(softmax, 'Softmax', 'axis', 0);
    expect(classifierStackKey(bytes)).not.toBeNull();
    expect(classifierStackKey(encode(transposed))).toBeNull();
    expect(classifierStackKey(encode(doubled))).toBeNull();
    expect(classifierStackKey(encode(softmax))).toBeNull();
  });
});

describe('stackClassifiers', () => {
  const models = [onnx(classifier(1)), onnx(classifier(2)), onnx(classifier(3))];

  it('takes features and model indices and stacks every weight over the models, without their metadata', () => {
    const stacked = decode(stackClassifiers(models));
    const shapes = (infos: PlainModel['graph']['input']) =>
      infos.map(({ name, type }) => [name, type.tensor_type.elem_type, type.tensor_type.shape.dim]);
    expect(shapes(stacked.graph.input)).toEqual([
      ['features', 1, [{ dim_param: 'N' }, { dim_value: 3 }]],
      ['model', 7, [{ dim_param: 'N' }]],
    ]);
    expect(shapes(stacked.graph.output)).toEqual([
      ['probabilities', 1, [{ dim_param: 'N' }, { dim_value: 3 }]],
      ['label', 7, [{ dim_param: 'N' }]],
    ]);
    expect(stacked.metadata_props).toEqual([{ key: 'stacked_models', value: '3' }]);
    expect(stacked.opset_import).toEqual([{ domain: '', version: 17 }]);
    const floats = stacked.graph.initializer.filter((tensor) => tensor.data_type === 1);
    expect(floats.map((tensor) => tensor.dims)).toEqual([
      [3, 3],
      [3, 3],
      [3, 3, 6],
      [3, 6],
      [3, 6, 4],
      [3, 4],
      [3, 4, 3],
      [3, 3],
    ]);
    expect(stacked.graph.node.filter((node) => node.op_type === 'MatMul')).toHaveLength(3);
    expect(stacked.graph.node.some((node) => node.op_type === 'Gemm')).toBe(false);
  });

  it('puts each model’s weights at its index of the stack', () => {
    const specs = [classifier(1), classifier(2)];
    const stacked = decode(stackClassifiers(specs.map((spec) => onnx(spec))));
    const kernel = stacked.graph.initializer.find((tensor) => tensor.name === 'dense_0_kernel_stacked');
    const values = new Float32Array(Uint8Array.from(kernel?.raw_data ?? []).buffer);
    expect(Array.from(values)).toEqual([...specs[0].layers[0].kernel, ...specs[1].layers[0].kernel]);
  });

  it('throws for fewer than 2 models', () => {
    expect(() => stackClassifiers([])).toThrow('needs 2 or more models to stack, got 0');
    expect(() => stackClassifiers([models[0]])).toThrow('needs 2 or more models to stack, got 1');
  });

  it('throws naming the model and what differs when the architectures differ', () => {
    expect(() => stackClassifiers([models[0], models[1], onnx(classifier(4, 5))])).toThrow(
      /model 2 has another architecture than model 0 \(its feature count differ/,
    );
    const wider = onnx(classifier(4, 3, [{ units: 9, activation: 'relu' }, HIDDEN[1]]));
    expect(() => stackClassifiers([models[0], wider])).toThrow(/model 1 .*weight shapes differ/);
  });

  it('throws naming the model and the reason when a model cannot be stacked', () => {
    const forest = forestOf([stump([1, 0, 0], [0, 0.5, 0.5])], { classCount: 3 });
    expect(() => stackClassifiers([models[0], exportTreeEnsembleClassifierToOnnx(forest, {})])).toThrow(
      /model 1 cannot be stacked: the operator Cast is not supported/,
    );
  });
});
