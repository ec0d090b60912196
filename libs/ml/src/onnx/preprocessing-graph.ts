import {
  columnsByType,
  encodedWidth,
  featurePreprocessingProblems,
  type FeaturePreprocessing,
} from '../preprocessing/feature-preprocessing';
import {
  floatAttribute,
  floatsAttribute,
  floatTensor,
  graphNode,
  int64Tensor,
  intAttribute,
  stringsAttribute,
  tensorValueInfo,
} from './onnx-builders';
import type { NodeMessage, TensorMessage, ValueInfoMessage } from './onnx-messages';
import { BATCH_DIMENSION, ONNX_CATEGORICAL_INPUT, ONNX_INPUT_NAME, ONNX_ML_DOMAIN } from './onnx-model';
import { TensorElementType } from './onnx-proto';

/** The front of a model's graph: its inputs and the nodes that turn them into one encoded float tensor. */
export interface PreprocessingGraph {
  inputs: ValueInfoMessage[];
  nodes: NodeMessage[];
  initializers: TensorMessage[];
  /** Declared types of intermediate tensors: the exporter puts them in the graph's value_info. */
  valueInfo: ValueInfoMessage[];
  /** The encoded float32 [N, width] tensor the model proper reads. */
  output: string;
  width: number;
  /** True when a node is in the ai.onnx.ml domain (Imputer, OneHotEncoder): the model must import that opset. */
  usesMlOperators: boolean;
}

/**
 * Builds the preprocessing of `preprocessing` as ONNX nodes; the dense and the tree exporters both start their graphs
 * with it. Inputs: "features" float32 [N, numeric columns] (NaN = missing), present when there is a numeric column,
 * and "categorical" string [N, categorical columns] ('' = missing), present only when there is a categorical column,
 * so an all-numeric model keeps today's single "features" input.
 *   features -> ai.onnx.ml Imputer (NaN -> median) -> Sub mean -> Div std   (each step only when the spec has it)
 *   categorical -> Gather column j -> ai.onnx.ml OneHotEncoder (zeros=1: unseen -> all zeros)   per column
 *   -> Concat(axis 1)                                                       when there is more than one part
 */
export function buildPreprocessingGraph(preprocessing: FeaturePreprocessing): PreprocessingGraph {
  const problems = featurePreprocessingProblems(preprocessing);
  if (problems.length > 0) throw new Error(`buildPreprocessingGraph: ${problems.join('; ')}`);
  const { numeric, categorical } = columnsByType(preprocessing.columns);
  const inputs: ValueInfoMessage[] = [];
  const nodes: NodeMessage[] = [];
  const initializers: TensorMessage[] = [];
  const valueInfo: ValueInfoMessage[] = [];
  const parts: string[] = [];
  let usesMlOperators = false;

  if (numeric.length > 0) {
    inputs.push(tensorValueInfo(ONNX_INPUT_NAME, TensorElementType.FLOAT, [BATCH_DIMENSION, numeric.length]));
    let current = ONNX_INPUT_NAME;
    if (preprocessing.medians) {
      nodes.push(
        graphNode(
          'Imputer',
          [current],
          ['imputed'],
          [
            floatsAttribute('imputed_value_floats', preprocessing.medians),
            floatAttribute('replaced_value_float', NaN),
          ],
          ONNX_ML_DOMAIN,
        ),
      );
      usesMlOperators = true;
      // onnx's shape inference does not type the Imputer's output; the checker needs it declared.
      valueInfo.push(tensorValueInfo('imputed', TensorElementType.FLOAT, [BATCH_DIMENSION, numeric.length]));
      current = 'imputed';
    }
    if (preprocessing.standardizer) {
      initializers.push(
        floatTensor('standardizer_mean', [numeric.length], preprocessing.standardizer.mean),
        floatTensor('standardizer_std', [numeric.length], preprocessing.standardizer.std),
      );
      nodes.push(
        graphNode('Sub', [current, 'standardizer_mean'], ['centred']),
        graphNode('Div', ['centred', 'standardizer_std'], ['standardized']),
      );
      current = 'standardized';
    }
    parts.push(current);
  }

  if (categorical.length > 0) {
    inputs.push(
      tensorValueInfo(ONNX_CATEGORICAL_INPUT, TensorElementType.STRING, [
        BATCH_DIMENSION,
        categorical.length,
      ]),
    );
    categorical.forEach((_, j) => {
      const categories = preprocessing.categories[j];
      // A column without any training category adds no width (every value would encode as zeros anyway).
      if (categories.length === 0) return;
      const index = `categorical_${j}_index`;
      const column = `categorical_${j}`;
      const oneHot = `categorical_${j}_onehot`;
      initializers.push(int64Tensor(index, [], [j]));
      nodes.push(
        graphNode('Gather', [ONNX_CATEGORICAL_INPUT, index], [column], [intAttribute('axis', 1)]),
        graphNode(
          'OneHotEncoder',
          [column],
          [oneHot],
          [stringsAttribute('cats_strings', categories), intAttribute('zeros', 1)],
          ONNX_ML_DOMAIN,
        ),
      );
      usesMlOperators = true;
      parts.push(oneHot);
    });
  }

  let output = parts[0];
  if (parts.length > 1) {
    output = 'encoded';
    nodes.push(graphNode('Concat', parts, [output], [intAttribute('axis', 1)]));
  }
  if (output === undefined) throw new Error('buildPreprocessingGraph: the model would have no input columns');
  return {
    inputs,
    nodes,
    initializers,
    valueInfo,
    output,
    width: encodedWidth(preprocessing),
    usesMlOperators,
  };
}
