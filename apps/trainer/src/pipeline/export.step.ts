import { createHash } from 'node:crypto';
import { encodeOnnxMetadata, type TrainRequested } from '@sepal/contracts';
import {
  exportDenseClassifierToOnnx,
  exportTreeEnsembleToOnnx,
  fitPsiReference,
  type DenseClassifierSpec,
  type PsiReference,
  type TreeEnsembleModel,
} from '@sepal/ml';
import type { DatasetVersionInfo, SplitRows } from '../clients/data-client';
import { defaultModelName } from '../jobs/model-naming';
import type { PipelineStep, StepSummary } from './step-runner';

export interface ExportInput {
  job: Pick<TrainRequested, 'dataset' | 'modelName'>;
  parentRunId: string;
  version: DatasetVersionInfo;
  /** The selected model: a dense network's weights, or a tree ensemble. */
  model:
    { family: 'dense'; spec: DenseClassifierSpec } | { family: 'forest' | 'gbdt'; model: TreeEnsembleModel };
  /** The raw training split, for the drift reference of each feature. */
  train: SplitRows;
}

export interface Exported {
  modelName: string;
  bytes: Uint8Array;
  sha256: string;
}

/**
 * Exports the selected model to ONNX with its preprocessing inside the graph, and as metadata what the gateway needs:
 * the label map, the feature names, the dataset version and run it comes from, and the PSI reference of each feature.
 */
export class ExportStep implements PipelineStep<ExportInput, Exported> {
  readonly id = 'export';

  async run({ job, parentRunId, version, model, train }: ExportInput): Promise<Exported> {
    const modelName = job.modelName ?? defaultModelName(job.dataset);
    const { features, labels } = version.schema;
    const metadata = encodeOnnxMetadata({
      modelName,
      labels,
      featureNames: features,
      dataset: job.dataset,
      datasetVersion: version.id,
      runId: parentRunId,
      // Per feature, in feature order: PSI bins fitted on the raw training split, so the gateway can measure drift.
      featureReference: featureReferences(train, features.length),
    });
    // Trees take the raw features (no standardisation) through ai.onnx.ml's TreeEnsembleClassifier.
    const bytes =
      model.family === 'dense'
        ? exportDenseClassifierToOnnx(model.spec, metadata)
        : exportTreeEnsembleToOnnx(model.model, metadata);
    return { modelName, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  summarize({ modelName, bytes, sha256 }: Exported): StepSummary {
    return { model_name: modelName, bytes: bytes.length, sha256 };
  }
}

const PSI_REFERENCE_BINS = 10;

/** PSI reference bins of each raw feature column of the training split (train only: the test split stays unseen). */
export function featureReferences(train: SplitRows, width: number): PsiReference[] {
  return Array.from({ length: width }, (_, column) =>
    fitPsiReference(
      train.features.map((row) => row[column]),
      PSI_REFERENCE_BINS,
    ),
  );
}
