import { encodeOnnxModel } from './onnx-model';
import { analyse, NotStackable } from './stack-analysis';
import { stackedGraph } from './stacked-graph';
import type { ClassifierPlan } from './stack-plan';

/**
 * The architecture of a classifier that can be stacked with others: equal keys stack together. null when the graph
 * is not a numeric-only classifier made only of the supported operators (the model then runs alone).
 */
export function classifierStackKey(bytes: Uint8Array): string | null {
  try {
    return analyse(bytes).key;
  } catch (error) {
    if (error instanceof NotStackable) return null;
    throw error;
  }
}

/**
 * One ONNX model scoring rows of any of `models` (2 or more, all with the same non-null stack key): inputs
 * "features" float32 [N, F] and "model" int64 [N] (each row's index into `models`), outputs "probabilities"
 * float32 [N, k] and "label" int64 [N], equal to what each row's own model answers. Throws an Error naming the
 * problem when a model is not stackable or the keys differ.
 *
 * Each weight W becomes one initializer [K, ...W's dims] gathered per row by the row's model index (a Gemm becomes a
 * batched MatMul of [N, 1, in] by [N, in, out]), the technique multi-LoRA servers use to serve many models in one
 * run. onnxruntime rejects an index outside [-K, K); a negative index counts from the end, as Gather's do.
 */
export function stackClassifiers(models: readonly Uint8Array[]): Uint8Array {
  if (models.length < 2) {
    throw new Error(`stackClassifiers: needs 2 or more models to stack, got ${models.length}`);
  }
  const analyses = models.map((bytes, index) => {
    try {
      return analyse(bytes);
    } catch (error) {
      if (!(error instanceof NotStackable)) throw error;
      throw new Error(`stackClassifiers: model ${index} cannot be stacked: ${error.message}`);
    }
  });
  const first = analyses[0];
  analyses.forEach(({ plan, key }, index) => {
    if (key !== first.key) {
      throw new Error(
        `stackClassifiers: model ${index} has another architecture than model 0 (${planDifference(first.plan, plan)})`,
      );
    }
  });
  return encodeOnnxModel(
    stackedGraph(
      first.plan,
      analyses.map((analysis) => analysis.weights),
    ),
    { stacked_models: String(models.length) },
    'stackClassifiers',
  );
}
/** The first part of two plans that differs, for an error message. */
function planDifference(a: ClassifierPlan, b: ClassifierPlan): string {
  const parts: (keyof ClassifierPlan)[] = ['features', 'classes', 'opsets', 'nodes', 'weightDims'];
  const part = parts.find((name) => JSON.stringify(a[name]) !== JSON.stringify(b[name])) ?? 'nodes';
  const describe: Record<keyof ClassifierPlan, string> = {
    features: 'feature count',
    classes: 'class count',
    opsets: 'operator sets',
    nodes: 'operators or their attributes',
    weightDims: 'weight shapes',
  };
  const shown = (plan: ClassifierPlan) => {
    const text = JSON.stringify(plan[part]);
    return text.length > 160 ? `${text.slice(0, 157)}...` : text;
  };
  return `its ${describe[part]} differ: ${shown(b)} vs ${shown(a)}`;
}
