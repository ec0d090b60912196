import * as os from 'node:os';
import { z } from 'zod';
import { baseConfigSchema, booleanVar, loadConfig, portVar } from '@sepal/config';
import {
  DEFAULT_TRAIN_BUDGET_S,
  DEFAULT_TRAINING_LIMITS,
  DEFAULT_TREE_LIMITS,
  type TrainingLimits,
} from '@sepal/ml';
import type { PlanLimits } from './sweep/job-plan';
import { defaultWorkerCount } from './workers/trial-pool';

const httpUrl = z
  .string()
  .url()
  .transform((url) => url.replace(/\/+$/, ''));

const limitVar = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const trainerConfigSchema = baseConfigSchema.extend({
  TRAINER_PORT: portVar(3003),
  /** Overrides HOST for this app. */
  TRAINER_HOST: z.string().min(1).optional(),
  DATA_URL: httpUrl.default('http://127.0.0.1:3001'),
  REGISTRY_URL: httpUrl.default('http://127.0.0.1:3002'),
  /** auto: tfjs-node if installed, else WASM, else CPU. */
  TF_BACKEND: z.enum(['auto', 'node', 'wasm', 'cpu']).default('auto'),
  /** Seed of a job that does not give one: the same job on the same backend gives the same model. */
  TRAIN_SEED: z.coerce.number().int().default(42),
  /** Share of the training split held out (stratified) for model selection and early stopping. */
  VALIDATION_FRACTION: z.coerce.number().gt(0).lt(1).default(0.2),
  /**
   * The selected configuration is trained again on the fit and validation rows together before its one test
   * evaluation (scikit-learn's refit), with what early stopping chose on the validation rows fixed; false keeps the
   * selected trial's model as it was trained on the fit rows.
   */
  TRAIN_REFIT: booleanVar(true),
  /**
   * A training split of at most this many rows selects by k-fold cross-validation (TRAIN_CV_FOLDS folds over fit +
   * validation rows, each trial scored by its mean over the folds) rather than on one validation carve; 0 turns it off.
   * Selection by folds needs the refit, so TRAIN_REFIT=false turns it off too.
   */
  TRAIN_CV_MAX_ROWS: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /** How many folds the cross-validation of a small training split (TRAIN_CV_MAX_ROWS) deals its rows into. */
  TRAIN_CV_FOLDS: z.coerce.number().int().min(2).max(20).default(5),
  /** The smallest training split accepted, so that every class reaches both the fit and the validation rows. */
  MIN_TRAIN_ROWS: z.coerce.number().int().min(2).default(10),
  /**
   * A new version is promoted only if its accuracy and the champion's, both scored on the model's frozen evaluation set
   * (which feedback never enters), differ by at least this margin: 0 = strictly better, 0.02 = two points better,
   * -1 = always (when the floor is cleared).
   */
  GATE_MIN_IMPROVEMENT: z.coerce.number().min(-1).max(1).default(0),
  /**
   * ...and reaches this absolute test accuracy. Both are the defaults of a classifier whose model sets no gate of its
   * own (PUT /models/{name}/gate); a regressor's default gate is test_rmse down, no ceiling, margin 0.
   */
  GATE_MIN_ACCURACY: z.coerce.number().min(0).max(1).default(0.9),
  /**
   * What happens to a retrain nobody asked for by hand (feedback, drift, schedule) that beats the champion on the
   * model's frozen evaluation set: 'automatic' promotes it; 'approval' leaves it as the challenger until a key with
   * the promote scope moves the champion alias (PUT /models/{name}/aliases/champion). A manual POST /train and a
   * model's first version are gated the same way and promoted automatically under both.
   */
  PROMOTION_POLICY: z.enum(['automatic', 'approval']).default('automatic'),
  /** A regressor's test_within_tolerance counts predictions within this distance of the truth. */
  REGRESSION_TOLERANCE: z.coerce.number().min(0).max(1e9).default(0.5),
  /** max |ONNX - TensorFlow.js| of any probability on the test split. */
  PARITY_TOLERANCE: z.coerce.number().positive().default(1e-5),
  /** How long artifact upload, registration and promotion keep retrying while the registry is unreachable. */
  REGISTRY_RETRY_MS: z.coerce.number().int().min(0).default(60_000),
  /** How long reading the dataset keeps retrying while the data service is unreachable. */
  DATA_RETRY_MS: z.coerce.number().int().min(0).default(30_000),
  /** Retrain every N minutes (0 = off) on the latest version of SCHEDULE_DATASET. */
  TRAIN_SCHEDULE_MINUTES: z.coerce.number().min(0).default(0),
  SCHEDULE_DATASET: z.string().trim().min(1).default('iris'),
  /** dataset.versioned with reason 'feedback' requests a retrain. */
  RETRAIN_ON_FEEDBACK: booleanVar(true),
  /** drift.detected requests a retrain of the model's dataset. */
  RETRAIN_ON_DRIFT: booleanVar(true),
  /** Dataset of a drifting model, as `model=dataset,...`; by default IrisModel → iris. */
  DRIFT_DATASETS: z.string().default(''),
  /** This replica's name in job records (the worker of a step). */
  TRAINER_REPLICA_ID: z
    .string()
    .regex(/^\S{1,200}$/, 'must be 1 to 200 characters without spaces')
    .default(`${os.hostname()}:${process.pid}`),
  /** Most rows a batch scoring job may score (a dataset version's split or an upload): the job fails naming this. */
  TRAINER_BATCH_MAX_ROWS: limitVar(5_000_000),
  /** Rows a batch job scores per ONNX run and per write (its memory is about one chunk, whatever the file). */
  TRAINER_BATCH_CHUNK_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(16_384),
  /** onnxruntime intra-op threads of a batch job's scoring worker thread. */
  TRAINER_BATCH_ORT_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** Where batch jobs keep their input and output CSVs while they run (deleted after; default: the OS temp dir). */
  TRAINER_BATCH_DIR: z.string().min(1).optional(),
  /** Worker threads that train trials (default: cores − 1, at least 1). */
  TRAINER_WORKERS: z.coerce.number().int().min(1).max(64).default(defaultWorkerCount()),
  /**
   * Where a sweep's trials train: `pool`, this replica's worker threads; `queue`, the durable work queue
   * trainer.trials, whose trials every replica's workers share.
   */
  TRAINER_TRIALS: z.enum(['pool', 'queue']).default('pool'),
  /** The largest trial.requested (its task: parameters and rows) a queued trial may be. */
  TRIAL_MESSAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(128 * 2 ** 20)
    .default(16 * 2 ** 20),
  /**
   * How long a job waits for a queued trial's outcome, queueing included; a trial that never comes back (dead-lettered,
   * or no replica consuming trainer.trials) then fails instead of holding its job forever.
   */
  TRIAL_QUEUE_TIMEOUT_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3600),
  /** Tensor memory one trial may hold, in MiB (its worker's heap is capped at this plus an allowance). */
  TRIAL_MEMORY_MB: z.coerce.number().int().min(16).max(65_536).default(1024),
  /** Wall-clock limit of one trial, in seconds. */
  TRIAL_TIMEOUT_S: z.coerce.number().int().min(1).max(86_400).default(600),
  TRAIN_MAX_HIDDEN_UNITS: limitVar(DEFAULT_TRAINING_LIMITS.maxHiddenUnits),
  TRAIN_MAX_HIDDEN_LAYERS: limitVar(DEFAULT_TRAINING_LIMITS.maxHiddenLayers),
  TRAIN_MAX_EPOCHS: limitVar(DEFAULT_TRAINING_LIMITS.maxEpochs),
  TRAIN_MAX_BATCH_SIZE: limitVar(DEFAULT_TRAINING_LIMITS.maxBatchSize),
  TRAIN_MAX_PARAMETERS: limitVar(DEFAULT_TRAINING_LIMITS.maxParameters),
  TRAIN_MAX_TRIALS: limitVar(DEFAULT_TRAINING_LIMITS.maxTrials),
  TRAIN_MAX_ROW_EPOCHS: limitVar(DEFAULT_TRAINING_LIMITS.maxRowEpochs),
  /** Trees of one random forest. */
  TRAIN_MAX_TREES: limitVar(DEFAULT_TREE_LIMITS.maxTrees),
  /** Boosting rounds of one gradient-boosted ensemble. */
  TRAIN_MAX_ROUNDS: limitVar(DEFAULT_TREE_LIMITS.maxRounds),
  /** maxDepth of a tree (0, grow until pure, is bounded by TRAIN_MAX_TREE_ROWS). */
  TRAIN_MAX_TREE_DEPTH: limitVar(DEFAULT_TREE_LIMITS.maxTreeDepth),
  /** maxLeaves of a boosted tree. */
  TRAIN_MAX_LEAVES: limitVar(DEFAULT_TREE_LIMITS.maxLeaves),
  /** Training rows × trees grown by one tree trial (a boosted classifier grows one tree per class and round). */
  TRAIN_MAX_TREE_ROWS: limitVar(DEFAULT_TREE_LIMITS.maxTreeRows),
  /**
   * Seconds a sweep may spend: the default grid keeps the families whose estimated time fits, and no trial starts
   * once it is spent. A request's budgetSeconds overrides it, up to TRAIN_MAX_BUDGET_S.
   */
  TRAIN_BUDGET_S: limitVar(DEFAULT_TRAIN_BUDGET_S),
  TRAIN_MAX_BUDGET_S: limitVar(86_400),
});

export type TrainerConfigValues = z.output<typeof trainerConfigSchema>;

/** The trainer's configuration, read and validated once at start; inject it by this class. */
export abstract class TrainerConfig {
  static load(env: NodeJS.ProcessEnv = process.env): TrainerConfigValues {
    return loadConfig(trainerConfigSchema, env);
  }
}

/** The training limits a configuration sets. */
export function trainingLimits(config: TrainerConfigValues): TrainingLimits {
  return {
    maxHiddenUnits: config.TRAIN_MAX_HIDDEN_UNITS,
    maxHiddenLayers: config.TRAIN_MAX_HIDDEN_LAYERS,
    maxEpochs: config.TRAIN_MAX_EPOCHS,
    maxBatchSize: config.TRAIN_MAX_BATCH_SIZE,
    maxParameters: config.TRAIN_MAX_PARAMETERS,
    maxTrials: config.TRAIN_MAX_TRIALS,
    maxRowEpochs: config.TRAIN_MAX_ROW_EPOCHS,
  };
}

/** The training limits, tree limits and budget bounds a configuration sets, for planning a job. */
export function planLimits(config: TrainerConfigValues): PlanLimits {
  return {
    ...trainingLimits(config),
    maxTrees: config.TRAIN_MAX_TREES,
    maxRounds: config.TRAIN_MAX_ROUNDS,
    maxTreeDepth: config.TRAIN_MAX_TREE_DEPTH,
    maxLeaves: config.TRAIN_MAX_LEAVES,
    maxTreeRows: config.TRAIN_MAX_TREE_ROWS,
    defaultBudgetSeconds: config.TRAIN_BUDGET_S,
    maxBudgetSeconds: config.TRAIN_MAX_BUDGET_S,
  };
}
