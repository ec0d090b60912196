import {
  argmax,
  logLoss,
  mergeRandomForests,
  partitionTreeIndices,
  regressionReport,
  sumByColumn,
  treeFeatureImportance,
  type CnnClassifierSpec,
  type ForestTrial,
  type RandomForestModel,
  type TrialParams,
} from '@sepal/ml';
import type { TrialData } from '../workers/trial-protocol';
import {
  treeTrial,
  type TrainedTrial,
  type TrainedTreeTrial,
  type TrialRequest,
  type TrialTrainer,
} from '../workers/trial-trainer.service';
import type { SweepData, TrialOutcome, TrialResult, TrialRun } from './sweep-types';

export function failedResult(index: number, params: TrialParams, seconds: number): TrialResult {
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

/**
 * Trains one trial's parameters on `data`'s fit rows and scores its validation rows, as a grid trial does (a forest in
 * parts over the workers); a failure is answered as a failed result, an aborted signal is thrown.
 */
export async function trainTrial(run: TrialRun): Promise<TrialOutcome> {
  const { index, params, data, seed, trainer, hooks, predictRows } = run;
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
    if (params.model === 'cnn') return await trainCnnTrial(run, started);
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
      const result = keptEpochResult(index, params, trained, started, {
        regression: {
          ...(kept.valRmse !== undefined ? { valRmse: kept.valRmse } : {}),
          ...(data.task === 'regression' && trained.valPredictions
            ? {
                valRegression: regressionFigures(
                  trained.valPredictions.map(([value]) => value),
                  data,
                ).valRegression,
              }
            : {}),
        },
        parameterCount: trained.spec.layers.reduce(
          (sum, layer) => sum + layer.kernel.length + layer.bias.length,
          0,
        ),
        worker: trained.worker,
      });
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
    if (trained.family === 'dense' || trained.family === 'cnn')
      throw new Error(`the trial trainer answered a ${trained.family} model for a tree trial`);
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

/** A CNN trial on the sweep's images (its validation figures are the kept epoch's, like a dense trial's). */
async function trainCnnTrial(run: TrialRun, started: number): Promise<TrialOutcome> {
  const { index, params, data, seed, trainer, hooks } = run;
  if (params.model !== 'cnn') throw new Error(`trainCnnTrial: a ${params.model} trial`);
  if (data.images === undefined) {
    throw new Error('model cnn trains on image datasets only, and this dataset version holds no images');
  }
  const trained = await trainer.train({
    family: 'cnn',
    image: data.images.image,
    xTrain: data.images.xFit,
    yTrain: data.yFit,
    xVal: data.images.xVal,
    yVal: data.yVal,
    labels: data.labels,
    params: stripModel(params),
    seed,
    predictImages: data.images.test,
    signal: hooks.signal,
    onEpoch: (metrics) => hooks.onEpoch?.(index, metrics),
    ...(hooks.jobId !== undefined ? { trial: { jobId: hooks.jobId, index } } : {}),
  });
  if (trained.family !== 'cnn')
    throw new Error(`the trial trainer answered a ${trained.family} model for a CNN`);
  const result = keptEpochResult(index, params, trained, started, {
    parameterCount: cnnParameterCount(trained.spec),
  });
  return { result, trained };
}

/**
 * A finished neural trial (dense or CNN) by its kept epoch: that epoch's validation figures (`regression` adds a
 * regression's), the epochs run, whether it stopped early, its time and, when known, the worker that trained it.
 */
function keptEpochResult(
  index: number,
  params: TrialParams,
  trained: Extract<TrainedTrial, { family: 'dense' | 'cnn' }>,
  started: number,
  figures: { regression?: Partial<TrialResult>; parameterCount: number; worker?: string },
): TrialResult {
  const kept = trained.history[trained.bestEpoch - 1];
  return {
    index,
    params,
    status: 'finished',
    valAccuracy: kept.valAccuracy,
    valLoss: kept.valLoss,
    ...figures.regression,
    bestEpoch: trained.bestEpoch,
    epochsRun: trained.history.length,
    parameterCount: figures.parameterCount,
    stoppedEarly: trained.stoppedEarly,
    seconds: (performance.now() - started) / 1000,
    ...(figures.worker !== undefined ? { worker: figures.worker } : {}),
  };
}

/** Trainable weights of a CNN (batch normalisation's moving statistics are not trained, so not counted). */
export function cnnParameterCount(spec: CnnClassifierSpec): number {
  return spec.layers.reduce((sum, layer) => {
    if (layer.kind === 'conv2d') return sum + layer.kernel.length + (layer.bias?.length ?? 0);
    if (layer.kind === 'dense') return sum + layer.kernel.length + layer.bias.length;
    if (layer.kind === 'batchNorm') return sum + layer.gamma.length + layer.beta.length;
    return sum;
  }, 0);
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
