import { parseOnnxMetadata } from '@sepal/contracts';
import { readOnnxMetadata, type ImageDriftReference, type PsiReference } from '@sepal/ml';
import { createSignature, ModelSignature } from '../../predict/model-signature';

export interface ArtifactMetadata {
  signature: ModelSignature;
  modelName: string | null;
  runId: string | null;
  datasetVersion: string | null;
  /** PSI bins of each feature on the training split (`feature_reference`); null when the artifact has none. */
  featureReference: PsiReference[] | null;
  /** An image model's drift reference (`image_reference`); null when absent. */
  imageReference: ImageDriftReference | null;
}

/**
 * Reads what the trainer writes into the artifact (the ONNX metadata contract of libs/contracts): feature names,
 * class names, run and dataset version, and the optional training-split reference of each feature for drift
 * monitoring. Missing or malformed metadata throws an error naming the key.
 */
export function readArtifactMetadata(bytes: Uint8Array): ArtifactMetadata {
  const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
  return {
    signature: createSignature(metadata.featureNames, metadata.labels, {
      task: metadata.task,
      columns: metadata.image ? null : metadata.featureColumns,
      image: metadata.image,
    }),
    modelName: metadata.modelName,
    runId: metadata.runId,
    datasetVersion: metadata.datasetVersion,
    featureReference: metadata.image ? null : metadata.featureReference,
    imageReference: metadata.image ? metadata.imageReference : null,
  };
}
