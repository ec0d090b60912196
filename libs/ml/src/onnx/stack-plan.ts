/** A classifier reduced to what stacking needs: its structure (the stack key) and its weights. */

/**
 * A classifier reduced to its structure (the stack key) and its weights. Every intermediate tensor is float32
 * [N, width]; each weight is a float32 initializer (or an Imputer's medians) that becomes a [K, ...dims] stack.
 */
export interface ClassifierPlan {
  opsets: [string, number][];
  features: number;
  classes: number;
  nodes: PlanNode[];
  /** Weight id -> dims, in the order the nodes first use them. */
  weightDims: [string, number[]][];
}

export type PlanNode =
  /** Sub/Div/Add/Mul of an activation and a weight [width] (or [1]), in the node's operand order. */
  | { op: 'Sub' | 'Div' | 'Add' | 'Mul'; inputs: [Operand, Operand]; output: string }
  | { op: 'Gemm'; input: string; kernel: string; bias: string; output: string }
  /** ai.onnx.ml Imputer replacing NaN by the weight `medians` [width]. */
  | { op: 'Imputer'; input: string; medians: string; output: string }
  | { op: 'Relu' | 'Tanh' | 'Sigmoid'; input: string; output: string }
  | { op: 'Softmax'; input: string; output: string; axis: number }
  | { op: 'ArgMax'; input: string; output: string };

export type Operand = { activation: string } | { weight: string };

/** A model as analysed: its plan, its stack key and its weights by id. */
export interface Analysis {
  plan: ClassifierPlan;
  key: string;
  weights: Map<string, Float32Array>;
}
