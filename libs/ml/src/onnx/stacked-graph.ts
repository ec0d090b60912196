/** Builds the ONNX graph of a stack: the plan's operators with every weight stacked and gathered per row. */
import { floatTensor, graphNode, int64Tensor, intAttribute, tensorValueInfo } from './onnx-builders';
import type { AttributeMessage, GraphMessage, NodeMessage, TensorMessage } from './onnx-messages';
import {
  BATCH_DIMENSION,
  classifierOutputs,
  featuresInput,
  ONNX_INPUT_NAME,
  ONNX_MODEL_INDEX_INPUT,
} from './onnx-model';
import { TensorElementType } from './onnx-proto';
import type { ClassifierPlan } from './stack-plan';

/** The plan's graph with every weight stacked over `weights` (one map per model) and gathered by the row's model. */
export function stackedGraph(plan: ClassifierPlan, weights: Map<string, Float32Array>[]): GraphMessage {
  const taken = new Set<string>([
    ONNX_INPUT_NAME,
    ONNX_MODEL_INDEX_INPUT,
    ...plan.nodes.map((node) => node.output),
  ]);
  for (const [id] of plan.weightDims) taken.add(id);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const nodes: NodeMessage[] = [];
  const initializers: TensorMessage[] = [];
  const dims = new Map(plan.weightDims);
  const gathered = new Map<string, string>();
  /** The weight `id` of each row's model, [N, ...dims]: gathered once, before its first use. */
  const rowWeight = (id: string): string => {
    let row = gathered.get(id);
    if (row === undefined) {
      const shape = dims.get(id) ?? [];
      const size = shape.reduce((product, dim) => product * dim, 1);
      const values = new Float32Array(weights.length * size);
      weights.forEach((model, k) => values.set(model.get(id) ?? [], k * size));
      const stack = fresh(`${id}_stacked`);
      initializers.push(floatTensor(stack, [weights.length, ...shape], values));
      row = fresh(`${id}_row`);
      nodes.push(graphNode('Gather', [stack, ONNX_MODEL_INDEX_INPUT], [row], [intAttribute('axis', 0)]));
      gathered.set(id, row);
    }
    return row;
  };
  let axisOne: string | undefined;
  const unsqueezeAxes = (): string => {
    if (axisOne === undefined) {
      axisOne = fresh('stack_axis_1');
      initializers.push(int64Tensor(axisOne, [1], [1]));
    }
    return axisOne;
  };
  const add = (op: string, inputs: string[], output: string, attributes: AttributeMessage[] = []): void => {
    nodes.push(graphNode(op, inputs, [output], attributes));
  };

  for (const node of plan.nodes) {
    switch (node.op) {
      case 'Sub':
      case 'Div':
      case 'Add':
      case 'Mul':
        add(
          node.op,
          node.inputs.map((operand) =>
            'weight' in operand ? rowWeight(operand.weight) : operand.activation,
          ),
          node.output,
        );
        break;
      case 'Gemm': {
        // x [N, in] -> [N, 1, in] times the row's kernel [N, in, out] -> [N, 1, out] -> [N, out], plus its bias.
        const axes = unsqueezeAxes();
        const [kernel, bias] = [rowWeight(node.kernel), rowWeight(node.bias)];
        const [lifted, product, flat] = ['unsqueezed', 'matmul', 'squeezed'].map((s) =>
          fresh(`${node.output}_${s}`),
        );
        add('Unsqueeze', [node.input, axes], lifted);
        add('MatMul', [lifted, kernel], product);
        add('Squeeze', [product, axes], flat);
        add('Add', [flat, bias], node.output);
        break;
      }
      case 'Imputer': {
        const missing = fresh(`${node.output}_missing`);
        add('IsNaN', [node.input], missing);
        add('Where', [missing, rowWeight(node.medians), node.input], node.output);
        break;
      }
      case 'Softmax':
        add('Softmax', [node.input], node.output, [intAttribute('axis', node.axis)]);
        break;
      case 'ArgMax':
        add('ArgMax', [node.input], node.output, [intAttribute('axis', 1), intAttribute('keepdims', 0)]);
        break;
      default:
        add(node.op, [node.input], node.output);
    }
  }
  return {
    name: 'sepal_stacked_classifiers',
    node: nodes,
    initializer: initializers,
    input: [
      featuresInput(plan.features),
      tensorValueInfo(ONNX_MODEL_INDEX_INPUT, TensorElementType.INT64, [BATCH_DIMENSION]),
    ],
    output: classifierOutputs(plan.classes),
  };
}
