import {
  argmax,
  logLoss,
  mergeRandomForests,
  partitionTreeIndices,
  regressionReport,
  sumByColumn,
  treeFeatureImportance,
  type BoostingRoundMetrics,
  type FeaturePreprocessing,
  type ForestTrial,
  type RandomForestModel,
  type TrialParams,
} from '@sepal/ml';
import type { EpochMetrics } from '../training/training-input';
import type { TrialData } from '../workers/trial-protocol';
import {
  treeTrial,
  type TrainedTrial,
  type TrainedTreeTrial,
  type TrialRequest,
  type TrialTrainer,
} from '../workers/trial-trainer';

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
  /** Regression: the tolerance of val_within_tolerance (REGRESSION_TOLERANCE). */
  tolerance?: number;
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

/**
 * Higher validation accuracy wins; among equally accurate trials the smaller network wins, then the lower validation
 * loss; an earlier trial wins a complete tie. With a validation split of a few dozen rows accuracy ties are common,
 * and breaking them on loss alone favours the largest, most confident network, which generalised worst on Iris:
 * over the splits of five data seeds the parsimony rule selected models averaging 0.973 test accuracy, the loss rule
 * 0.953, and it was never worse on any one of them.
 */
export function isBetterTrial(candidate: TrialResult, incumbent: TrialResult | null): boolean {
  if (candidate.status !== 'finished') return false;
  if (incumbent === null) return true;
  // A regressor's trials, whatever the family: the lower validation RMSE wins, then (within a family) the smaller
  // model; weights and tree nodes do not compare, so a tie across families keeps the earlier trial.
  if (candidate.valRmse !== undefined && incumbent.valRmse !== undefined) {
    if (candidate.valRmse !== incumbent.valRmse) return candidate.valRmse < incumbent.valRmse;
    return (
      candidate.params.model === incumbent.params.model && candidate.parameterCount < incumbent.parameterCount
    );
  }
  if (candidate.valAccuracy !== incumbent.valAccuracy) return candidate.valAccuracy > incumbent.valAccuracy;
  // Weights and tree nodes do not compare: across families, an accuracy tie goes to the lower validation loss.
  const sameFamily = candidate.params.model === incumbent.params.model;
  if (sameFamily && candidate.parameterCount !== incumbent.parameterCount) {
    return candidate.parameterCount < incumbent.parameterCount;
  }
  return candidate.valLoss < incumbent.valLoss;
}

/**
 * Trains one model per parameter set, all with the same seed, as many at once as the trainer allows, and keeps the
 * best on the validation rows only (chosen in trial order, so the outcome does not depend on which trial finished
 * first); the test split is only scored, for the selected model's evaluation. A trial that fails (e.g. diverges, or
 * exceeds a limit) is reported and the sweep goes on; an aborted signal stops the sweep.
 */
export async function runGridSearch(
  trials: TrialParams[],
  data: SweepData,
  seed: number,
  trainer: TrialTrainer,
  hooks: SweepHooks = {},
  predictRows: number[][] = [],
  budgetSeconds = Number.POSITIVE_INFINITY,
): Promise<SweepOutcome> {
  const results: TrialResult[] = new Array(trials.length);
  const models: (TrainedTrial | null)[] = new Array(trials.length).fill(null);
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < trials.length) {
      const index = next++;
      hooks.signal?.throwIfAborted();
      const spent = (performance.now() - started) / 1000;
      // The first trial always starts, so a sweep trains at least one model.
      const { result, trained } =
        index > 0 && spent > budgetSeconds
          ? await skipTrial(index, trials[index], hooks, budgetSeconds)
          : await runTrial(index, trials[index], data, seed, trainer, hooks, predictRows);
      results[index] = result;
      models[index] = trained;
      await hooks.onTrialEnd?.(result);
    }
  };
  try {
    const lanes = Array.from({ length: Math.min(trainer.concurrency, trials.length) }, lane);
    const settled = await Promise.allSettled(lanes);
    const failure = settled.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
    if (failure) throw failure.reason;
    let best: TrialResult | null = null;
    for (const result of results) if (isBetterTrial(result, best)) best = result;
    const model = best === null ? null : models[best.index];
    models.forEach((trained, index) => index !== best?.index && trained?.dispose());
    return { trials: results, best, model };
  } catch (error) {
    models.forEach((trained) => trained?.dispose());
    throw error;
  }
}

/** A trial not started because the sweep spent its budget: recorded as failed, naming the budget. */
async function skipTrial(
  index: number,
  params: TrialParams,
  hooks: SweepHooks,
  budgetSeconds: number,
): Promise<{ result: TrialResult; trained: null }> {
  await hooks.onTrialStart?.(index, params);
  return {
    result: {
      ...failedResult(index, params, 0),
      error:
        `not started: the sweep spent its training budget of ${budgetSeconds} s ` +
        '(raise budgetSeconds in the request or TRAIN_BUDGET_S, or ask for fewer trials)',
    },
    trained: null,
  };
}

function failedResult(index: number, params: TrialParams, seconds: number): TrialResult {
  return {
    index,
    params,
    status: 'failed',
    valAccuracy: 0,
    valLoss: Number.POSITIVE_INFINITY,
    bestEpoch: 0,
    epochsRun: 0,
    parameterCount: 0,
    stoppedEarly: false,
    seconds,
  };
}

async function runTrial(
  index: number,
  params: TrialParams,
  data: SweepData,
  seed: number,
  trainer: TrialTrainer,
  hooks: SweepHooks,
  predictRows: number[][],
): Promise<{ result: TrialResult; trained: TrainedTrial | null }> {
  await hooks.onTrialStart?.(index, params);
  return trainTrial(index, params, data, seed, trainer, hooks, predictRows);
}

/**
 * Trains one trial's parameters on `data`'s fit rows and scores its validation rows, as a grid trial does (a forest in
 * parts over the workers); a failure is answered as a failed result, an aborted signal is thrown.
 */
export async function trainTrial(
  index: number,
  params: TrialParams,
  data: SweepData,
  seed: number,
  trainer: TrialTrainer,
  hooks: Pick<SweepHooks, 'signal' | 'onEpoch' | 'jobId'>,
  predictRows: number[][],
): Promise<{ result: TrialResult; trained: TrainedTrial | null }> {
  const started = performance.now();
  const common: TrialData = {
    xTrain: data.xFit,
    yTrain: data.yFit,
    xVal: data.xVal,
    yVal: data.yVal,
    labels: data.labels,
    featureNames: data.featureNames,
    seed,
    predictRows,
  };
  try {
    if (params.model === 'dense') {
      const { model: _model, ...dense } = params;
      const trained = await trainer.train({
        ...common,
        ...(data.task ? { task: data.task } : {}),
        ...(data.preprocessing ? { preprocessing: data.preprocessing } : {}),
        family: 'dense',
        params: dense,
        signal: hooks.signal,
        onEpoch: (metrics) => hooks.onEpoch?.(index, metrics),
        ...(hooks.jobId !== undefined ? { trial: { jobId: hooks.jobId, index } } : {}),
      });
      if (trained.family !== 'dense')
        throw new Error('the trial trainer answered a tree model for a dense trial');
      const kept = trained.history[trained.bestEpoch - 1];
      const result: TrialResult = {
        index,
        params,
        status: 'finished',
        valAccuracy: kept.valAccuracy,
        valLoss: kept.valLoss,
        ...(kept.valRmse !== undefined ? { valRmse: kept.valRmse } : {}),
        ...(data.task === 'regression' && trained.valPredictions
          ? {
              valRegression: regressionFigures(
                trained.valPredictions.map(([value]) => value),
                data,
              ).valRegression,
            }
          : {}),
        bestEpoch: trained.bestEpoch,
        epochsRun: trained.history.length,
        parameterCount: trained.spec.layers.reduce(
          (sum, layer) => sum + layer.kernel.length + layer.bias.length,
          0,
        ),
        stoppedEarly: trained.stoppedEarly,
        seconds: (performance.now() - started) / 1000,
        ...(trained.worker !== undefined ? { worker: trained.worker } : {}),
      };
      return { result, trained };
    }
    if (data.trees === undefined) {
      throw new Error(`model ${params.model} needs the rows encoded for trees, and the sweep has none`);
    }
    const rawRows: TrialData = {
      ...common,
      ...(data.task ? { task: data.task } : {}),
      xTrain: data.trees.xFit,
      xVal: data.trees.xVal,
      predictRows: data.trees.test,
    };
    const trained =
      params.model === 'forest'
        ? await trainForest(params, rawRows, trainer, hooks.signal)
        : await trainer.train({
            ...rawRows,
            family: 'gbdt',
            params: stripModel(params),
            signal: hooks.signal,
          });
    if (trained.family === 'dense')
      throw new Error('the trial trainer answered a dense model for a tree trial');
    return { result: treeResult(index, params, trained, data, started), trained };
  } catch (error) {
    if (hooks.signal?.aborted) throw error;
    const result: TrialResult = {
      ...failedResult(index, params, (performance.now() - started) / 1000),
      error: error instanceof Error ? error.message : String(error),
    };
    return { result, trained: null };
  }
}

function stripModel<P extends { model: string }>(params: P): Omit<P, 'model'> {
  const { model: _model, ...rest } = params;
  return rest;
}

/**
 * A forest's trees are independent: with several workers the forest is grown in parts, one per worker, and merged;
 * the parts' scores (sums of leaf distributions) add up to the whole forest's.
 */
async function trainForest(
  params: ForestTrial,
  common: TrialData,
  trainer: TrialTrainer,
  signal: AbortSignal | undefined,
): Promise<TrainedTrial> {
  const request = (treeIndices?: number[]): TrialRequest => ({
    ...common,
    family: 'forest',
    params: stripModel(params),
    ...(treeIndices ? { treeIndices } : {}),
    signal,
  });
  if (trainer.concurrency <= 1 || params.trees < 2) return trainer.train(request());
  const parts = await Promise.all(
    partitionTreeIndices(params.trees, trainer.concurrency).map((indices) => trainer.train(request(indices))),
  );
  const trees = parts.filter((part): part is TrainedTreeTrial => part.family === 'forest');
  if (trees.length !== parts.length)
    throw new Error('the trial trainer answered another family for a forest part');
  const add = (select: (part: TrainedTreeTrial) => number[][]) =>
    select(trees[0]).map((row, r) =>
      row.map((_, k) => trees.reduce((sum, part) => sum + select(part)[r][k], 0)),
    );
  return treeTrial(
    {
      family: 'forest',
      model: mergeRandomForests(trees.map((part) => part.model as RandomForestModel)),
      valScores: add((part) => part.valScores),
      predictScores: add((part) => part.predictScores),
    },
    common.predictRows,
  );
}

/** Validation metrics of a tree trial from its validation scores; a boosted one keeps its rounds' history. */
function treeResult(
  index: number,
  params: TrialParams,
  trained: TrainedTreeTrial,
  data: SweepData,
  started: number,
): TrialResult {
  const { model } = trained;
  const scale = model.kind === 'random_forest' ? 1 / model.trees.length : 1;
  const probabilities = trained.valScores.map((row) => row.map((value) => value * scale));
  const boosted = model.kind === 'gradient_boosting';
  return {
    index,
    params,
    status: 'finished',
    ...(model.task === 'regression'
      ? regressionFigures(
          probabilities.map(([value]) => value),
          data,
        )
      : classificationFigures(probabilities, data)),
    bestEpoch: boosted ? model.rounds : model.trees.length,
    epochsRun: boosted ? model.history.length : model.trees.length,
    parameterCount: model.trees.reduce((sum, tree) => sum + tree.feature.length, 0),
    stoppedEarly: boosted && model.history.length < model.params.rounds,
    seconds: (performance.now() - started) / 1000,
    ...(boosted ? { rounds: model.history } : {}),
    // Per raw column (a categorical column's one-hot block summed), so it names the columns clients send.
    featureImportance: data.trees
      ? sumByColumn(data.trees.preprocessing, treeFeatureImportance(model))
      : treeFeatureImportance(model),
  };
}

function classificationFigures(
  probabilities: number[][],
  data: SweepData,
): Pick<TrialResult, 'valAccuracy' | 'valLoss'> {
  const correct = probabilities.filter((row, r) => argmax(row) === data.yVal[r]).length;
  return {
    valAccuracy: correct / Math.max(1, data.yVal.length),
    valLoss: logLoss(data.yVal, probabilities),
  };
}

/** A tree regressor's validation figures: the RMSE selection minimises, its square as the loss, MAE, R², tolerance. */
function regressionFigures(
  values: number[],
  data: SweepData,
): Pick<TrialResult, 'valAccuracy' | 'valLoss' | 'valRmse' | 'valRegression'> {
  const report = regressionReport(data.yVal, values, data.tolerance);
  return {
    valAccuracy: 0,
    valLoss: report.rmse * report.rmse,
    valRmse: report.rmse,
    valRegression: { mae: report.mae, r2: report.r2, withinTolerance: report.withinTolerance },
  };
}

/** A regressor's val_mae, val_r2 and val_within_tolerance, when its trial scored them (tree trials do). */
export function validationRegressionMetrics({ valRegression }: TrialResult): Record<string, number> {
  if (valRegression === undefined) return {};
  return {
    val_mae: valRegression.mae,
    val_r2: valRegression.r2,
    val_within_tolerance: valRegression.withinTolerance,
  };
}
