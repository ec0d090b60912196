import type { BoostingRoundMetrics, FeaturePreprocessing, ImageShape, TrialParams } from '@sepal/ml';
import type { EpochMetrics } from '../training/training-input';
import type { TrainedTrial, TrialTrainer } from '../workers/trial-trainer.service';

export interface SweepData {
  /** 'classification' when absent. */
  task?: 'classification' | 'regression';
  /** How the raw cells were encoded into the x rows; the trials' specs carry it so the export takes raw cells. */
  preprocessing?: FeaturePreprocessing;
  /**
   * The rows as the tree families read them: encoded by `preprocessing` (missing numbers imputed with the fit rows'
   * medians, categories one-hot, no standardisation: trees split on the raw scale), with the test rows they score.
   * The export puts the same preprocessing in front of the ensemble, so clients send raw cells to trees too.
   */
  trees?: TreeRows;
  /**
   * An image dataset's sweep: the fit, validation and test images as 0..255 bytes (NHWC), which the CNN family reads
   * (its x rows are then empty; yFit and yVal are the images' classes).
   */
  images?: SweepImages;
  /** Regression: the tolerance of val_within_tolerance (REGRESSION_TOLERANCE). */
  tolerance?: number;
  /**
   * Selection by k-fold cross-validation: every trial is trained once per fold on the fit and validation rows of the
   * other folds, and scored by its mean over the folds. `foldOf`: the fold of each row of the fit rows then the
   * validation rows, in that order.
   */
  crossValidation?: { folds: number; foldOf: number[] };
  xFit: number[][];
  /** Class indices, or target values for regression. */
  yFit: number[];
  xVal: number[][];
  yVal: number[];
  /** Class names; empty for regression. */
  labels: string[];
  /** The encoded columns' names (a one-hot position is `column=category`). */
  featureNames: string[];
}

/** The sweep's rows encoded for the tree families (see SweepData.trees). */
export interface TreeRows {
  preprocessing: FeaturePreprocessing;
  xFit: number[][];
  xVal: number[][];
  test: number[][];
}

/** The images of an image sweep (see SweepData.images), row-major NHWC, in the order of yFit, yVal and the test. */
export interface SweepImages {
  image: ImageShape;
  xFit: Uint8Array;
  xVal: Uint8Array;
  test: Uint8Array;
}

/** A regressor's validation figures besides the RMSE (of the kept weights or trees, on the validation rows). */
export interface ValidationRegression {
  mae: number;
  r2: number;
  withinTolerance: number;
}

export interface TrialResult {
  index: number;
  /** The trial's family (`model`) and that family's parameters. */
  params: TrialParams;
  status: 'finished' | 'failed';
  /** Validation metrics of the kept (best-epoch) weights (accuracy 0 for a regressor). */
  valAccuracy: number;
  valLoss: number;
  /** Regression only: the validation RMSE in the target's units; selection minimises it. */
  valRmse?: number;
  /** Regression only, when the trial scored its validation rows: MAE, R² and the share within the tolerance. */
  valRegression?: ValidationRegression;
  bestEpoch: number;
  epochsRun: number;
  /** Trainable weights and biases of a network, or nodes of a tree ensemble (0 for a failed trial). */
  parameterCount: number;
  stoppedEarly: boolean;
  seconds: number;
  error?: string;
  /** A boosted ensemble's metrics per round (its `bestEpoch` is the round kept). */
  rounds?: BoostingRoundMetrics[];
  /**
   * A tree ensemble's feature importance: each raw column's share of the total split gain (a categorical column's
   * one-hot block summed), in column order.
   */
  featureImportance?: number[];
  /** Cross-validated: the folds its validation figures are the means over. */
  folds?: number;
  /** The trainer replica that trained it, when known. */
  worker?: string;
}

export interface SweepHooks {
  onTrialStart?(index: number, params: TrialParams): Promise<void>;
  onEpoch?(index: number, metrics: EpochMetrics): Promise<void>;
  onTrialEnd?(result: TrialResult): Promise<void>;
  signal?: AbortSignal;
  /** The job the trials belong to (a queued trial carries it). */
  jobId?: string;
}

export interface SweepOutcome {
  trials: TrialResult[];
  /** The selected trial (see isBetterTrial); null if all failed. */
  best: TrialResult | null;
  /** The selected trial's model: the caller owns it and must dispose it. */
  model: TrainedTrial | null;
}

/** One trial to train on a sweep's rows, as the grid runs it (trainTrial, or crossValidateTrial over folds). */
export interface TrialRun {
  index: number;
  params: TrialParams;
  data: SweepData;
  seed: number;
  trainer: TrialTrainer;
  hooks: Pick<SweepHooks, 'signal' | 'onEpoch' | 'jobId'>;
  /** Rows whose outputs come back with the model (the test split). */
  predictRows: number[][];
}

/** A trained trial's result, and its model unless it failed. */
export interface TrialOutcome {
  result: TrialResult;
  trained: TrainedTrial | null;
}
