import { forestOf, stump as oneSplit } from '../../test/fixtures/tree-data';
import type { GradientBoostingModel, RandomForestModel } from '../trees/tree-model';
import { defaultGradientBoostingParams } from '../trees/tree-params';
import {
  exportTreeEnsembleClassifierToOnnx,
  exportTreeEnsembleRegressorToOnnx,
  exportTreeEnsembleToOnnx,
} from './export-tree-ensemble';
import { modelProtoType } from './onnx-proto';

/** x1 <= 0.5 goes to leaf 1, else to leaf 2. */
const stump = (left: number[], right: number[]) => oneSplit(left, right, { feature: 1, threshold: 0.5 });

const forest = forestOf([stump([1, 0, 0], [0, 0.5, 0.5]), stump([0, 0, 1], [0, 1, 0])], { classCount: 3 });

const boosted: GradientBoostingModel = {
  kind: 'gradient_boosting',
  task: 'regression',
  featureCount: 2,
  classCount: 1,
  params: defaultGradientBoostingParams('regression'),
  seed: 1,
  baseScore: [5],
  treesPerRound: 1,
  rounds: 2,
  trees: [stump([-1], [1]), stump([0.5], [-0.25])],
  history: [],
};

interface DecodedAttribute {
  name: string;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
  strings?: Uint8Array[];
}

function decode(bytes: Uint8Array) {
  const ModelProto = modelProtoType();
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as {
    opset_import: { domain?: string; version: number }[];
    metadata_props: { key: string; value: string }[];
    graph: {
      node: {
        op_type: string;
        domain?: string;
        input: string[];
        output: string[];
        attribute?: DecodedAttribute[];
      }[];
      input: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
      output: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: object[] } } } }[];
    };
  };
}

/** An attribute's value: a number, a string, or a list of them. */
function attributes(node: { attribute?: DecodedAttribute[] }): Record<string, unknown> {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return Object.fromEntries(
    (node.attribute ?? []).map((a) => [
      a.name,
      a.ints ?? a.floats ?? a.strings?.map(text) ?? (a.s ? text(a.s) : a.i),
    ]),
  );
}

describe('exportTreeEnsembleClassifierToOnnx', () => {
  const model = decode(exportTreeEnsembleClassifierToOnnx(forest, { model_name: 'wine', run_id: 'r1' }));

  it('imports opset 17 and ai.onnx.ml 3, and keeps the metadata', () => {
    expect(model.opset_import).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(model.metadata_props).toEqual([
      { key: 'model_name', value: 'wine' },
      { key: 'run_id', value: 'r1' },
    ]);
  });

  it('casts the features to float64, runs TreeEnsembleClassifier and takes the label from the probabilities', () => {
    const [cast, ensemble, argMax] = model.graph.node;
    expect(cast).toMatchObject({ op_type: 'Cast', input: ['features'], output: ['features_double'] });
    expect(attributes(cast)).toEqual({ to: 11 });
    expect(ensemble).toMatchObject({
      op_type: 'TreeEnsembleClassifier',
      domain: 'ai.onnx.ml',
      input: ['features_double'],
      output: ['ensemble_label', 'probabilities'],
    });
    expect(argMax).toMatchObject({ op_type: 'ArgMax', input: ['probabilities'], output: ['label'] });
  });

  it('writes every node, and each leaf’s non-zero share of the forest’s vote', () => {
    const ensemble = attributes(model.graph.node[1]);
    expect(ensemble).toEqual({
      nodes_treeids: [0, 0, 0, 1, 1, 1],
      nodes_nodeids: [0, 1, 2, 0, 1, 2],
      nodes_featureids: [1, 0, 0, 1, 0, 0],
      nodes_values: [0.5, 0, 0, 0.5, 0, 0],
      nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF'],
      nodes_truenodeids: [1, 0, 0, 1, 0, 0],
      nodes_falsenodeids: [2, 0, 0, 2, 0, 0],
      class_treeids: [0, 0, 0, 1, 1],
      class_nodeids: [1, 2, 2, 1, 2],
      class_ids: [0, 1, 2, 2, 1],
      class_weights: [0.5, 0.25, 0.25, 0.5, 0.5],
      classlabels_int64s: [0, 1, 2],
      post_transform: 'NONE',
    });
  });

  it('declares features [N, F] float, probabilities [N, k] float and label [N] int64, as the dense models do', () => {
    expect(model.graph.input).toEqual([
      {
        name: 'features',
        type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 2 }] } } },
      },
    ]);
    expect(model.graph.output).toEqual([
      {
        name: 'probabilities',
        type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }] } } },
      },
      { name: 'label', type: { tensor_type: { elem_type: 7, shape: { dim: [{ dim_param: 'N' }] } } } },
    ]);
  });

  it('keeps zero votes with two classes, so onnxruntime never sees a class without votes', () => {
    const binary = { ...forest, classCount: 2, trees: [stump([1, 0], [0, 1])], treeIndices: [0] };
    const ensemble = attributes(decode(exportTreeEnsembleClassifierToOnnx(binary, {})).graph.node[1]);
    expect(ensemble.class_ids).toEqual([0, 1, 0, 1]);
    expect(ensemble.class_weights).toEqual([1, 0, 0, 1]);
  });

  it('applies softmax to a boosted ensemble, its base scores folded into the first round’s leaves', () => {
    const classifier: GradientBoostingModel = {
      ...boosted,
      task: 'classification',
      classCount: 2,
      baseScore: [-1, 2],
      treesPerRound: 2,
      rounds: 2,
      trees: [stump([1], [-1]), stump([0.5], [0]), stump([0.25], [0.125]), stump([-0.5], [-0.25])],
    };
    const ensemble = attributes(decode(exportTreeEnsembleClassifierToOnnx(classifier, {})).graph.node[1]);
    expect(ensemble.post_transform).toBe('SOFTMAX');
    expect(ensemble.class_treeids).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(ensemble.class_ids).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(ensemble.class_weights).toEqual([0, -2, 2.5, 2, 0.25, 0.125, -0.5, -0.25]);
    expect(ensemble.base_values).toBeUndefined();
  });

  it('refuses a regression model and an invalid one', () => {
    expect(() => exportTreeEnsembleClassifierToOnnx(boosted, {})).toThrow(
      'exportTreeEnsembleClassifierToOnnx: the model is a regression model',
    );
    const broken = { ...forest, trees: [forest.trees[0], { ...forest.trees[1], left: [5, -1, -1] }] };
    expect(() => exportTreeEnsembleClassifierToOnnx(broken, {})).toThrow(
      'exportTreeEnsembleClassifierToOnnx: invalid tree ensemble: tree 1: node 0 has child 5, expected a later node below 3',
    );
  });
});

describe('exportTreeEnsembleRegressorToOnnx', () => {
  it('sums a boosted ensemble’s leaves onto its base value and outputs "value" float [N, 1]', () => {
    const model = decode(exportTreeEnsembleRegressorToOnnx(boosted, { a: 'b' }));
    expect(model.graph.node.map((node) => node.op_type)).toEqual(['Cast', 'TreeEnsembleRegressor']);
    const ensemble = attributes(model.graph.node[1]);
    expect(ensemble).toMatchObject({
      target_treeids: [0, 0, 1, 1],
      target_nodeids: [1, 2, 1, 2],
      target_ids: [0, 0, 0, 0],
      target_weights: [-1, 1, 0.5, -0.25],
      n_targets: 1,
      aggregate_function: 'SUM',
      base_values: [5],
    });
    expect(model.graph.output).toEqual([
      {
        name: 'value',
        type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 1 }] } } },
      },
    ]);
  });

  it('averages a forest’s leaf means', () => {
    const regression: RandomForestModel = {
      ...forest,
      task: 'regression',
      classCount: 1,
      trees: [stump([2], [4]), stump([3], [5])],
    };
    const ensemble = attributes(decode(exportTreeEnsembleToOnnx(regression, {})).graph.node[1]);
    expect(ensemble.aggregate_function).toBe('AVERAGE');
    expect(ensemble.target_weights).toEqual([2, 4, 3, 5]);
    expect(ensemble.base_values).toBeUndefined();
  });

  it('produces the same bytes for the same model', () => {
    expect(exportTreeEnsembleToOnnx(boosted, { a: '1' })).toEqual(
      exportTreeEnsembleToOnnx(boosted, { a: '1' }),
    );
  });
});
