import { createHash } from 'node:crypto';
import { encodeOnnxMetadata, type OnnxFeatureColumn, type TrainRequested } from '@sepal/contracts';
import {
  exportCnnClassifierToOnnx,
  exportDenseClassifierToOnnx,
  fitImageDriftReference,
  type CnnClassifierSpec,
  exportDenseRegressorToOnnx,
  exportTreeEnsembleToOnnx,
  fitPsiReference,
  type FeaturePreprocessing,
  type PsiReference,
  type TreeEnsembleModel,
} from '@sepal/ml';
import type { DatasetVersionInfo, SplitImages, SplitRows } from '../clients/data-client';
import { defaultModelName } from '../jobs/model-naming';
import type { DenseTrialSpec } from '../training/dense-classifier';
import type { PipelineStep, StepSummary } from './step-runner';

export interface ExportInput {
  job: Pick<TrainRequested, 'dataset' | 'modelName'>;
  parentRunId: string;
  version: DatasetVersionInfo;
  /**
   * The selected model: a dense network's weights (its spec carries its preprocessing), or a tree ensemble with the
   * preprocessing its rows were encoded by (imputation and one-hot, no standardisation).
   */
  model:
    | { family: 'dense'; spec: DenseTrialSpec }
    | { family: 'forest' | 'gbdt'; model: TreeEnsembleModel; preprocessing?: FeaturePreprocessing }
    | { family: 'cnn'; spec: CnnClassifierSpec };
  /** The raw training split, for the drift reference of each feature. */
  train: SplitRows;
  /** An image version's training images, for the image drift reference (mean intensity per channel, classes). */
  trainImages?: SplitImages;
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

  async run({ job, parentRunId, version, model, train, trainImages }: ExportInput): Promise<Exported> {
    const modelName = job.modelName ?? defaultModelName(job.dataset);
    if (model.family === 'cnn') {
      return exportCnn(
        model.spec,
        { modelName, dataset: job.dataset, datasetVersion: version.id, parentRunId },
        trainImages,
      );
    }
    const { features, labels } = version.schema;
    const spec = model.family === 'dense' ? model.spec : null;
    const regression =
      spec !== null
        ? 'task' in spec && spec.task === 'regression'
        : model.family !== 'dense' && model.model.task === 'regression';
    const preprocessing =
      spec !== null ? spec.preprocessing : model.family !== 'dense' ? model.preprocessing : undefined;
    const references = featureReferences(train, features.length);
    const metadata = encodeOnnxMetadata({
      modelName,
      labels: regression ? [] : labels,
      featureNames: features,
      dataset: job.dataset,
      datasetVersion: version.id,
      runId: parentRunId,
      ...(regression ? { task: 'regression' as const } : {}),
      ...(preprocessing ? { featureColumns: metadataColumns(preprocessing, train) } : {}),
      // Per feature, in feature order: PSI bins fitted on the raw training split, so the gateway can measure drift
      // (numeric features only: a model with a categorical feature has no reference yet).
      ...(references ? { featureReference: references } : {}),
    });
    // Trees read their preprocessing's encoding (imputed, one-hot, not standardised) through ai.onnx.ml's
    // TreeEnsembleClassifier or TreeEnsembleRegressor.
    const bytes =
      model.family !== 'dense'
        ? exportTreeEnsembleToOnnx(model.model, metadata, model.preprocessing)
        : 'task' in model.spec
          ? exportDenseRegressorToOnnx(model.spec, metadata)
          : exportDenseClassifierToOnnx(model.spec, metadata);
    return { modelName, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  summarize({ modelName, bytes, sha256 }: Exported): StepSummary {
    return { model_name: modelName, bytes: bytes.length, sha256 };
  }
}

const PSI_REFERENCE_BINS = 10;

/**
 * A CNN as ONNX taking uint8 images [N, H, W, C] (the scaling and layout in the graph), with the label map, the image
 * input's description (input_kind=image, image_shape, input_type) and the drift reference of its training images.
 */
function exportCnn(
  spec: CnnClassifierSpec,
  facts: { modelName: string; dataset: string; datasetVersion: string; parentRunId: string },
  trainImages: SplitImages | undefined,
): Exported {
  const { height, width, channels } = spec.input;
  if (channels !== 1 && channels !== 3)
    throw new Error(`a CNN's images have 1 or 3 channels, not ${channels}`);
  const imageReference =
    trainImages && trainImages.labels.length > 0
      ? fitImageDriftReference(trainImages.pixels, spec.input, trainImages.labels, spec.labels.length)
      : undefined;
  const metadata = encodeOnnxMetadata({
    modelName: facts.modelName,
    labels: spec.labels,
    dataset: facts.dataset,
    datasetVersion: facts.datasetVersion,
    runId: facts.parentRunId,
    image: { height, width, channels, inputType: 'uint8' },
    ...(imageReference ? { imageReference } : {}),
  });
  const bytes = exportCnnClassifierToOnnx(spec, metadata, { inputType: 'uint8' });
  return { modelName: facts.modelName, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * PSI reference bins of each raw feature column of the training split (train only: the test split stays unseen),
 * on the present values; undefined when a column is not numeric or has no value at all.
 */
export function featureReferences(train: SplitRows, width: number): PsiReference[] | undefined {
  const columns: number[][] = [];
  for (let column = 0; column < width; column++) {
    const values: number[] = [];
    for (const row of train.features) {
      const cell = row[column];
      if (typeof cell === 'string') return undefined;
      if (typeof cell === 'number') values.push(cell);
    }
    if (values.length === 0) return undefined;
    columns.push(values);
  }
  return columns.map((values) => fitPsiReference(values, PSI_REFERENCE_BINS));
}

/**
 * The feature_columns metadata: each column's type, the value a missing number takes, a column's categories, and
 * whether the training split had missing values in it (only then may a request leave the feature out).
 */
export function metadataColumns(preprocessing: FeaturePreprocessing, train: SplitRows): OnnxFeatureColumn[] {
  let numeric = 0;
  let categorical = 0;
  return preprocessing.columns.map(({ name, type }, column): OnnxFeatureColumn => {
    const missing = train.features.some((row) => {
      const cell = row[column];
      return cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell));
    });
    if (type === 'categorical')
      return { name, type, categories: preprocessing.categories[categorical++], missing };
    const imputed = preprocessing.medians?.[numeric++];
    return { name, type, ...(imputed !== undefined ? { imputed } : {}), missing };
  });
}
