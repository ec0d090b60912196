import { featureColumnsOf, type TrainRequested } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import type { DatasetVersionInfo, SplitRows } from '../clients/data-client';
import { JobRejectedError } from '../jobs/job-errors';
import type { RunReporter } from '../jobs/run-reporter';
import { stratifiedFolds } from '../sweep/cross-validation';
import type { SweepData, TreeRows } from '../sweep/grid-search';
import { planJob, type JobPlan } from '../sweep/job-plan';
import {
  encodedFeatureNames,
  encodeFeatureRows,
  fitFeaturePreprocessing,
  trialLimitProblems,
  type FeatureCell,
  type FeatureColumn,
} from '@sepal/ml';
import { carveStratifiedHoldout } from '../training/validation-split';
import { planLimits, type TrainerConfigValues } from '../trainer.config';
import type { TrialTrainer } from '../workers/trial-trainer.service';
import type { BackendName } from '../training/tf-backend';
import type { DatasetReader, RunOpener, TrackJob } from './pipeline-ports';
import { resolveImageSweep, type ResolvedImages } from './resolve-images';
import type { PipelineStep, StepSummary } from './step-runner';

export interface ResolveDataInput {
  job: TrainRequested;
  seed: number;
}

export interface ResolvedData {
  plan: JobPlan;
  version: DatasetVersionInfo;
  /** The TensorFlow.js backend the trials train on. */
  backend: BackendName;
  /** Publishes the events of the job's parent run, opened by this step, and of its trials. */
  run: RunReporter;
  train: SplitRows;
  test: SplitRows;
  /** The test rows encoded by the sweep's preprocessing: what the trials' TensorFlow.js models read. */
  testEncoded: number[][];
  /** The train split cut into fit and validation rows, encoded, with the labels, feature names and preprocessing. */
  sweep: ResolvedSweep;
  /** An image version's splits (its `train` and `test` then hold the classes only, and the sweep its images). */
  images?: ResolvedImages;
}

/** The sweep's data with its task (and, for a table, the preprocessing fitted on the fit rows). */
export type ResolvedSweep = SweepData & Required<Pick<SweepData, 'task'>>;
type TableSweep = ResolvedSweep & Required<Pick<SweepData, 'preprocessing'>>;

/** `28x28x1`: an image sweep's height, width and channels. */
const imageShapeOf = ({ height, width, channels }: { height: number; width: number; channels: number }) =>
  `${height}x${width}x${channels}`;

export interface ResolveDataDeps {
  config: TrainerConfigValues;
  trainer: Pick<TrialTrainer, 'backend'>;
  data: DatasetReader;
  openRun: RunOpener;
  track: TrackJob;
  log(message: string): void;
}

/**
 * Plans the trials, resolves the dataset version, loads TensorFlow.js and opens the job's run, then reads the splits
 * and carves the validation rows from train. A job that can never run as asked (invalid grid, missing dataset or
 * version, splits too small) is rejected, and the refusal is recorded on the run, opened first for that.
 */
export class ResolveDataStep implements PipelineStep<ResolveDataInput, ResolvedData> {
  readonly id = 'resolve-data';

  constructor(private readonly deps: ResolveDataDeps) {}

  async run({ job, seed }: ResolveDataInput): Promise<ResolvedData> {
    let plan: JobPlan | undefined;
    let version: DatasetVersionInfo | undefined;
    let refusal: unknown;
    const limits = planLimits(this.deps.config);
    try {
      planJob(job.grid, job.params, limits, job.budgetSeconds);
      version = await resolveVersion(this.deps.data, job);
      // Planned with the version's size: the default grid keeps the families that fit the budget.
      const fitRows = Math.floor(version.trainRows * (1 - this.deps.config.VALIDATION_FRACTION));
      const image = version.schema.image;
      const estimated = {
        features: image ? image.height * image.width * image.channels : version.schema.features.length,
        classes: version.schema.labels.length,
        rows: fitRows,
      };
      plan = planJob(
        job.grid,
        job.params,
        limits,
        job.budgetSeconds,
        estimated,
        version.schema.task ?? 'classification',
        image !== undefined,
      );
    } catch (error) {
      refusal = error;
    }
    const backend = await this.deps.trainer.backend();
    const run = await this.deps.openRun.open({ plan, version, backend });
    this.deps.track((s) => Object.assign(s, { backend, datasetVersion: version?.id ?? null }));
    if (plan === undefined || version === undefined) throw refusal;
    if (version.schema.image) {
      const resolved = await resolveImageSweep(this.deps.data, job.dataset, version, this.deps.config, seed);
      const shape = { features: 0, classes: resolved.sweep.labels.length, rows: resolved.sweep.yFit.length };
      const overLimits = trialLimitProblems(plan.trials, { ...limits, maxTrials: Infinity }, shape);
      if (overLimits.length > 0) throw new JobRejectedError(`invalid training job: ${overLimits.join('; ')}`);
      return { plan, version, backend, run, ...resolved };
    }

    const [train, test] = await Promise.all([
      this.deps.data.rows(job.dataset, version.id, 'train'),
      this.deps.data.rows(job.dataset, version.id, 'test'),
    ]);
    const treeTrials = plan.trials.some((trial) => trial.model !== 'dense');
    const sweep = carveValidation(train, test, version.schema, this.deps.config, seed, treeTrials);
    const testEncoded = encodeFeatureRows(sweep.preprocessing, test.features);
    // Now that the data's shape is known: the full parameter count, rows × epochs and rows × trees of every trial.
    const shape = {
      features: sweep.featureNames.length,
      classes: sweep.task === 'regression' ? 1 : sweep.labels.length,
      rows: sweep.yFit.length,
    };
    const overLimits = trialLimitProblems(plan.trials, { ...limits, maxTrials: Infinity }, shape);
    if (overLimits.length > 0) throw new JobRejectedError(`invalid training job: ${overLimits.join('; ')}`);
    return { plan, version, backend, run, train, test, testEncoded, sweep };
  }

  summarize({ version, sweep, test, plan, backend }: ResolvedData): StepSummary {
    return {
      datasetVersion: version.id,
      version: `v${version.seq}`,
      fit_rows: sweep.yFit.length,
      validation_rows: sweep.yVal.length,
      ...(sweep.crossValidation ? { cv_folds: sweep.crossValidation.folds } : {}),
      test_rows: test.labels.length,
      ...(sweep.images ? { image_shape: imageShapeOf(sweep.images.image) } : {}),
      trials: plan.trials.length,
      backend,
    };
  }
}

/** A missing dataset or version is permanent; the data service being unreachable is not. */
async function resolveVersion(data: DatasetReader, job: TrainRequested): Promise<DatasetVersionInfo> {
  try {
    return await data.version(job.dataset, job.version ?? 'latest');
  } catch (error) {
    if (error instanceof ServiceCallError && (error.status === 404 || error.status === 400)) {
      const what = job.version
        ? `version ${job.version} of dataset '${job.dataset}'`
        : `dataset '${job.dataset}'`;
      throw new JobRejectedError(`${what} not found (${error.message})`);
    }
    throw error;
  }
}

/** Regression targets are stratified by this many quantile bins when the validation rows are carved. */
const TARGET_BINS = 5;

/**
 * The validation rows are carved from train (stratified by class, or by quantile bin of a regression target; seeded);
 * a split too small for that rejects the job. The preprocessing (medians, standardisation, categories) is fitted on
 * the fit rows only, and every split is encoded with it.
 */
function carveValidation(
  train: SplitRows,
  test: SplitRows,
  schema: DatasetVersionInfo['schema'],
  config: ResolveDataDeps['config'],
  seed: number,
  /** Encode the rows for the tree families too (only when the plan has a tree trial). */
  treeTrials: boolean,
): TableSweep {
  const problems: string[] = [];
  if (train.labels.length < config.MIN_TRAIN_ROWS) {
    problems.push(
      `the training split has ${train.labels.length} rows, at least ${config.MIN_TRAIN_ROWS} are needed`,
    );
  }
  if (test.labels.length === 0) problems.push('the test split is empty');
  const regression = schema.task === 'regression';
  const strata = regression ? quantileBins(train.labels, TARGET_BINS) : train.labels;
  const present = new Set(strata);
  if (present.size < 2) {
    problems.push(
      regression
        ? 'the training split has a constant target: a regressor needs at least 2 distinct values'
        : `the training split has ${present.size} class(es), at least 2 are needed`,
    );
  }
  const { fit, holdout } = carveStratifiedHoldout(strata, config.VALIDATION_FRACTION, seed);
  const fitClasses = new Set(fit.map((row) => strata[row]));
  if (problems.length === 0 && (holdout.length === 0 || fitClasses.size < present.size)) {
    problems.push(
      `the training split (${train.labels.length} rows) is too small to hold out ${config.VALIDATION_FRACTION} ` +
        'of each class for validation',
    );
  }
  if (problems.length > 0)
    throw new JobRejectedError(`dataset too small for the split: ${problems.join('; ')}`);
  const columns: FeatureColumn[] = featureColumnsOf(schema).map(({ name, type }) => ({ name, type }));
  const fitRows = fit.map((row) => train.features[row]);
  let preprocessing;
  try {
    preprocessing = fitFeaturePreprocessing(columns, fitRows, { standardize: true });
  } catch (error) {
    throw new JobRejectedError(
      `the dataset's rows do not fit its schema: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const holdoutRows = holdout.map((row) => train.features[row]);
  return {
    task: schema.task,
    preprocessing,
    ...(treeTrials ? { trees: treeRows(columns, fitRows, holdoutRows, test.features) } : {}),
    ...(regression ? { tolerance: config.REGRESSION_TOLERANCE } : {}),
    ...crossValidationOf(
      config,
      [...fit, ...holdout].map((row) => strata[row]),
      seed,
    ),
    xFit: encodeFeatureRows(preprocessing, fitRows),
    yFit: fit.map((row) => train.labels[row]),
    xVal: encodeFeatureRows(preprocessing, holdoutRows),
    yVal: holdout.map((row) => train.labels[row]),
    labels: regression ? [] : schema.labels,
    featureNames: encodedFeatureNames(preprocessing),
  };
}

/**
 * A training split of at most TRAIN_CV_MAX_ROWS rows selects by TRAIN_CV_FOLDS-fold cross-validation over its fit and
 * validation rows (stratified like the carve), when the selected trial is refit on them (TRAIN_REFIT).
 */
function crossValidationOf(
  config: ResolveDataDeps['config'],
  strata: number[],
  seed: number,
): Pick<TableSweep, 'crossValidation'> {
  if (!config.TRAIN_REFIT || strata.length > config.TRAIN_CV_MAX_ROWS) return {};
  const folds = config.TRAIN_CV_FOLDS;
  return { crossValidation: { folds, foldOf: stratifiedFolds(strata, folds, seed) } };
}

/**
 * The rows as the tree families read them: the same imputation (fit rows' medians) and one-hot blocks as the dense
 * models, without standardisation (trees split on the raw scale, so the graph's thresholds compare the clients' own
 * numbers). Fitted on the fit rows only, like the dense preprocessing; an all-numeric row without missing cells is
 * encoded as itself.
 */
function treeRows(
  columns: FeatureColumn[],
  fit: FeatureCell[][],
  holdout: FeatureCell[][],
  test: FeatureCell[][],
): TreeRows {
  const preprocessing = fitFeaturePreprocessing(columns, fit, { standardize: false });
  return {
    preprocessing,
    xFit: encodeFeatureRows(preprocessing, fit),
    xVal: encodeFeatureRows(preprocessing, holdout),
    test: encodeFeatureRows(preprocessing, test),
  };
}

/** Each value's quantile bin (0..bins-1) among `values`: equal-count bins, ties kept together. */
export function quantileBins(values: readonly number[], bins: number): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const edges = Array.from(
    { length: bins - 1 },
    (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / bins)],
  );
  return values.map((value) => edges.filter((edge) => value >= edge).length);
}
