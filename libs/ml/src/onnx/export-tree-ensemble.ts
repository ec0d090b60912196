import type { DecisionTree, TreeEnsembleModel } from '../trees/tree-model';
import { assertValidTreeEnsemble } from '../trees/validate-tree-model';
import {
  floatsAttribute,
  graphNode,
  intAttribute,
  intsAttribute,
  stringAttribute,
  stringsAttribute,
} from './onnx-builders';
import type { AttributeMessage, GraphMessage, NodeMessage, ValueInfoMessage } from './onnx-messages';
import {
  classifierOutputs,
  encodeOnnxModel,
  labelFromProbabilitiesNode,
  ONNX_ML_DOMAIN,
  ONNX_PROBABILITIES_OUTPUT,
  ONNX_VALUE_OUTPUT,
  regressorOutputs,
} from './onnx-model';
import { buildPreprocessingGraph } from './preprocessing-graph';
import { numericPreprocessing, type FeaturePreprocessing } from '../preprocessing/feature-preprocessing';
import { TensorElementType } from './onnx-proto';

/** The features as float64: onnxruntime then sums the leaves in float64 (its accumulator follows the input type). */
const DOUBLE_FEATURES = 'features_double';
/** TreeEnsembleClassifier's own label output; the graph's label is ArgMax of the probabilities instead. */
const ENSEMBLE_LABEL = 'ensemble_label';

/** A classifier or a regressor, by the model's task. */
export function exportTreeEnsembleToOnnx(
  model: TreeEnsembleModel,
  metadata: Record<string, string>,
  preprocessing?: FeaturePreprocessing,
): Uint8Array {
  return model.task === 'classification'
    ? exportTreeEnsembleClassifierToOnnx(model, metadata, preprocessing)
    : exportTreeEnsembleRegressorToOnnx(model, metadata, preprocessing);
}

/**
 * Serialises a tree-ensemble classifier with ai.onnx.ml's TreeEnsembleClassifier, with the dense classifier's
 * signature: "features" float32 [N, F] in, "probabilities" float32 [N, k] and "label" int64 [N] out. Trees need no
 * standardisation, so the graph takes the raw features as they are. `metadata` goes to metadata_props unchanged.
 */
export function exportTreeEnsembleClassifierToOnnx(
  model: TreeEnsembleModel,
  metadata: Record<string, string>,
  preprocessing?: FeaturePreprocessing,
): Uint8Array {
  return encodeEnsemble(model, metadata, preprocessing, {
    what: 'exportTreeEnsembleClassifierToOnnx',
    task: 'classification',
    operator: 'TreeEnsembleClassifier',
    outputs: [ENSEMBLE_LABEL, ONNX_PROBABILITIES_OUTPUT],
    attributes: () => [
      ...leafWeights(model, 'class'),
      intsAttribute(
        'classlabels_int64s',
        Array.from({ length: model.classCount }, (_, k) => k),
      ),
      // A forest's weights are already its mean distribution; boosted scores go through softmax.
      stringAttribute('post_transform', model.kind === 'gradient_boosting' ? 'SOFTMAX' : 'NONE'),
    ],
    after: [labelFromProbabilitiesNode()],
    graphOutputs: classifierOutputs(model.classCount),
  });
}

/**
 * Serialises a tree-ensemble regressor with ai.onnx.ml's TreeEnsembleRegressor: "features" float32 [N, F] in,
 * "value" float32 [N, 1] out.
 */
export function exportTreeEnsembleRegressorToOnnx(
  model: TreeEnsembleModel,
  metadata: Record<string, string>,
  preprocessing?: FeaturePreprocessing,
): Uint8Array {
  const boosted = model.kind === 'gradient_boosting';
  return encodeEnsemble(model, metadata, preprocessing, {
    what: 'exportTreeEnsembleRegressorToOnnx',
    task: 'regression',
    operator: 'TreeEnsembleRegressor',
    outputs: [ONNX_VALUE_OUTPUT],
    attributes: () => [
      ...leafWeights(model, 'target'),
      intAttribute('n_targets', 1),
      stringAttribute('aggregate_function', boosted ? 'SUM' : 'AVERAGE'),
      ...(boosted ? [floatsAttribute('base_values', model.baseScore)] : []),
    ],
    after: [],
    graphOutputs: regressorOutputs(),
  });
}

interface EnsembleGraph {
  what: string;
  task: TreeEnsembleModel['task'];
  operator: 'TreeEnsembleClassifier' | 'TreeEnsembleRegressor';
  outputs: string[];
  /** The operator's attributes besides the nodes; called once the model is known to be valid. */
  attributes: () => AttributeMessage[];
  /** Nodes after the ensemble. */
  after: NodeMessage[];
  graphOutputs: ValueInfoMessage[];
}

/**
 * The preprocessing (none: the raw "features" as they are) -> Cast to float64 -> the ensemble operator -> `after`,
 * as a model with both opsets. With a preprocessing, the trees split the encoded columns (imputed numeric columns on
 * their raw scale, then the one-hot blocks).
 */
function encodeEnsemble(
  model: TreeEnsembleModel,
  metadata: Record<string, string>,
  preprocessing: FeaturePreprocessing | undefined,
  spec: EnsembleGraph,
): Uint8Array {
  assertValidTreeEnsemble(model, spec.what);
  if (model.task !== spec.task) throw new Error(`${spec.what}: the model is a ${model.task} model`);
  const front = buildPreprocessingGraph(
    preprocessing ??
      numericPreprocessing(Array.from({ length: model.featureCount }, (_, i) => `feature_${i}`)),
  );
  if (front.width !== model.featureCount) {
    throw new Error(
      `${spec.what}: the preprocessing encodes ${front.width} columns, the trees read ${model.featureCount}`,
    );
  }
  const attributes = [...nodeAttributes(model.trees), ...spec.attributes()];
  const ensemble = graphNode(spec.operator, [DOUBLE_FEATURES], spec.outputs, attributes, ONNX_ML_DOMAIN);
  const graph: GraphMessage = {
    name: `sepal_${model.kind}_${spec.task === 'classification' ? 'classifier' : 'regressor'}`,
    node: [...front.nodes, castToDouble(front.output), ensemble, ...spec.after],
    initializer: front.initializers,
    input: front.inputs,
    output: spec.graphOutputs,
    ...(front.valueInfo.length > 0 ? { value_info: front.valueInfo } : {}),
  };
  return encodeOnnxModel(graph, metadata, spec.what, { withMlOpset: true });
}

function castToDouble(input: string) {
  return graphNode('Cast', [input], [DOUBLE_FEATURES], [intAttribute('to', TensorElementType.DOUBLE)]);
}

/** The nodes_* attributes: every node of every tree, a split going to its true (left) child when x <= threshold. */
function nodeAttributes(trees: readonly DecisionTree[]): AttributeMessage[] {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  trees.forEach((tree, treeId) => {
    for (let node = 0; node < tree.feature.length; node++) {
      const isLeaf = tree.feature[node] === -1;
      treeIds.push(treeId);
      nodeIds.push(node);
      featureIds.push(isLeaf ? 0 : tree.feature[node]);
      values.push(isLeaf ? 0 : tree.threshold[node]);
      modes.push(isLeaf ? 'LEAF' : 'BRANCH_LEQ');
      trueIds.push(isLeaf ? 0 : tree.left[node]);
      falseIds.push(isLeaf ? 0 : tree.right[node]);
    }
  });
  return [
    intsAttribute('nodes_treeids', treeIds),
    intsAttribute('nodes_nodeids', nodeIds),
    intsAttribute('nodes_featureids', featureIds),
    floatsAttribute('nodes_values', values),
    stringsAttribute('nodes_modes', modes),
    intsAttribute('nodes_truenodeids', trueIds),
    intsAttribute('nodes_falsenodeids', falseIds),
  ];
}

/**
 * The class_* (classifier) or target_* (regressor) attributes: each leaf's votes. A forest classifier's leaf votes
 * its class distribution divided by the number of trees; zero votes are left out, except with two classes, where
 * onnxruntime would treat a class without any vote as a single-score binary model. A boosted ensemble's first round
 * carries the base scores, so no base_values are needed (onnxruntime mishandles them for two classes).
 */
function leafWeights(model: TreeEnsembleModel, prefix: 'class' | 'target'): AttributeMessage[] {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const ids: number[] = [];
  const weights: number[] = [];
  const vote = (treeId: number, node: number, id: number, weight: number) => {
    treeIds.push(treeId);
    nodeIds.push(node);
    ids.push(id);
    weights.push(weight);
  };
  const classifier = model.task === 'classification';
  model.trees.forEach((tree, treeId) => {
    for (let node = 0; node < tree.feature.length; node++) {
      if (tree.feature[node] !== -1) continue;
      if (model.kind === 'gradient_boosting') {
        const id = treeId % model.treesPerRound;
        const base = classifier && treeId < model.treesPerRound ? model.baseScore[id] : 0;
        vote(treeId, node, id, tree.value[node] + base);
      } else if (classifier) {
        for (let k = 0; k < model.classCount; k++) {
          const weight = tree.value[node * model.classCount + k] / model.trees.length;
          if (weight !== 0 || model.classCount === 2) vote(treeId, node, k, weight);
        }
      } else {
        vote(treeId, node, 0, tree.value[node]);
      }
    }
  });
  return [
    intsAttribute(`${prefix}_treeids`, treeIds),
    intsAttribute(`${prefix}_nodeids`, nodeIds),
    intsAttribute(`${prefix}_ids`, ids),
    floatsAttribute(`${prefix}_weights`, weights),
  ];
}
