/** What a request must match: the model's feature names (in input order) and class names (by index). */
export interface ModelSignature {
  readonly featureNames: readonly string[];
  readonly labels: readonly string[];
  /** feature name -> column, precomputed once per model for the hot path. */
  readonly featureIndex: ReadonlyMap<string, number>;
  /** "sepal_length, sepal_width, ..." for error messages. */
  readonly featureList: string;
}

export function createSignature(featureNames: readonly string[], labels: readonly string[]): ModelSignature {
  const featureIndex = new Map(featureNames.map((name, index) => [name, index]));
  if (featureIndex.size !== featureNames.length) throw new Error('feature names must be unique');
  if (featureNames.length === 0) throw new Error('the model has no features');
  if (labels.length === 0) throw new Error('the model has no classes');
  return { featureNames, labels, featureIndex, featureList: featureNames.join(', ') };
}
