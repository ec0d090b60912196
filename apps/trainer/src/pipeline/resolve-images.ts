import type { DatasetVersionInfo, SplitImages, SplitRows } from '../clients/data-client';
import { JobRejectedError } from '../jobs/job-errors';
import type { SweepData } from '../sweep/sweep-types';
import { carveStratifiedHoldout } from '../training/validation-split';
import type { TrainerConfigValues } from '../trainer.config';
import { CNN_PREDICT_ROWS } from '../workers/trial-trainer.service';
import type { DatasetReader } from './pipeline-ports';

/** An image version's splits as the data service serves them (binary pages), for evaluation and the parity check. */
export interface ResolvedImages {
  train: SplitImages;
  test: SplitImages;
}

/** What the resolve step answers for an image version: its images, the sweep over them, labels-only splits. */
export interface ImageSweep {
  images: ResolvedImages;
  sweep: SweepData & Required<Pick<SweepData, 'task'>>;
  /** The splits' classes (no feature cells: an image row's only feature is its hash). */
  train: SplitRows;
  test: SplitRows;
  /** The token a CNN's test probabilities are asked for with (see cnnTrial). */
  testEncoded: number[][];
}

/**
 * Reads an image version's train and test splits through the data service's image pages and carves the validation
 * images from train (stratified by class, seeded, VALIDATION_FRACTION), as carveValidation does for rows.
 */
export async function resolveImageSweep(
  reader: DatasetReader,
  dataset: string,
  version: DatasetVersionInfo,
  config: Pick<TrainerConfigValues, 'MIN_TRAIN_ROWS' | 'VALIDATION_FRACTION'>,
  seed: number,
): Promise<ImageSweep> {
  if (!reader.images) throw new Error('this data reader cannot read image datasets');
  const [train, test] = await Promise.all([
    reader.images(dataset, version.id, 'train'),
    reader.images(dataset, version.id, 'test'),
  ]);
  const labels = version.schema.labels;
  const problems: string[] = [];
  if (train.labels.length < config.MIN_TRAIN_ROWS) {
    problems.push(
      `the training split has ${train.labels.length} images, at least ${config.MIN_TRAIN_ROWS} are needed`,
    );
  }
  if (test.labels.length === 0) problems.push('the test split is empty');
  const present = new Set(train.labels);
  if (present.size < 2)
    problems.push(`the training split has ${present.size} class(es), at least 2 are needed`);
  const { fit, holdout } = carveStratifiedHoldout(train.labels, config.VALIDATION_FRACTION, seed);
  if (
    problems.length === 0 &&
    (holdout.length === 0 || new Set(fit.map((i) => train.labels[i])).size < present.size)
  ) {
    problems.push(
      `the training split (${train.labels.length} images) is too small to hold out ${config.VALIDATION_FRACTION} ` +
        'of each class for validation',
    );
  }
  if (problems.length > 0)
    throw new JobRejectedError(`dataset too small for the split: ${problems.join('; ')}`);
  const size = train.image.height * train.image.width * train.image.channels;
  const pick = (rows: number[]) => {
    const out = new Uint8Array(rows.length * size);
    rows.forEach((row, i) => out.set(train.pixels.subarray(row * size, (row + 1) * size), i * size));
    return out;
  };
  const sweep: ImageSweep['sweep'] = {
    task: 'classification',
    images: { image: { ...train.image }, xFit: pick(fit), xVal: pick(holdout), test: test.pixels },
    xFit: [],
    yFit: fit.map((row) => train.labels[row]),
    xVal: [],
    yVal: holdout.map((row) => train.labels[row]),
    labels,
    featureNames: version.schema.features,
  };
  return {
    images: { train, test },
    sweep,
    train: { features: [], labels: train.labels },
    test: { features: [], labels: test.labels },
    testEncoded: CNN_PREDICT_ROWS,
  };
}
