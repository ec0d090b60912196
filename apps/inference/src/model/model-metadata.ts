import { readOnnxMetadata, type PsiReference } from '@sepal/ml';
import { parseFeatureReference } from '../drift/drift-monitor';
import { createSignature, ModelSignature } from '../predict/model-signature';

export interface ArtifactMetadata {
  signature: ModelSignature;
  modelName: string | null;
  runId: string | null;
  datasetVersion: string | null;
  /** PSI bins of each feature on the training split (`feature_reference`); null when absent or unusable. */
  featureReference: PsiReference[] | null;
  /** Why an existing `feature_reference` is unusable (the model is served without drift monitoring). */
  featureReferenceProblem: string | null;
}

function parseJsonStrings(raw: string | undefined, key: string): string[] | Record<string, string> {
  if (raw === undefined || raw === '') throw new Error(`the ONNX metadata has no '${key}'`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`the ONNX metadata '${key}' is not JSON`);
  }
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  if (value && typeof value === 'object' && Object.values(value).every((item) => typeof item === 'string')) {
    return value as Record<string, string>;
  }
  throw new Error(`the ONNX metadata '${key}' must be a JSON array of names`);
}

/** label_map as a JSON array of class names by index, or an object {"0": name, ...}. */
function labelsFrom(map: string[] | Record<string, string>): string[] {
  if (Array.isArray(map)) return map;
  const labels: string[] = [];
  for (const [index, name] of Object.entries(map)) {
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0)
      throw new Error(`the ONNX metadata 'label_map' has a bad index '${index}'`);
    labels[i] = name;
  }
  if (labels.some((label) => label === undefined) || labels.length !== Object.keys(map).length) {
    throw new Error("the ONNX metadata 'label_map' must number classes 0..k-1");
  }
  return labels;
}

/**
 * Reads what the trainer writes into the artifact: feature names, class names, run and dataset version, and the
 * optional training-split reference of each feature for drift monitoring.
 */
export function readArtifactMetadata(bytes: Uint8Array): ArtifactMetadata {
  const metadata = readOnnxMetadata(bytes);
  const featureNames = parseJsonStrings(metadata.feature_names, 'feature_names');
  if (!Array.isArray(featureNames)) throw new Error("the ONNX metadata 'feature_names' must be a JSON array");
  const labels = labelsFrom(parseJsonStrings(metadata.label_map, 'label_map'));
  let featureReference: PsiReference[] | null = null;
  let featureReferenceProblem: string | null = null;
  if (metadata.feature_reference) {
    try {
      featureReference = parseFeatureReference(metadata.feature_reference, featureNames.length);
    } catch (error) {
      featureReferenceProblem = (error as Error).message;
    }
  }
  return {
    signature: createSignature(featureNames, labels),
    modelName: metadata.model_name || null,
    runId: metadata.run_id || null,
    datasetVersion: metadata.dataset_version || null,
    featureReference,
    featureReferenceProblem,
  };
}
