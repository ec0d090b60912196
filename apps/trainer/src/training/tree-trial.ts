import {
  forestParamsOf,
  gbdtParamsOf,
  predictTreeProbabilities,
  predictTreeValues,
  trainGradientBoosting,
  trainRandomForest,
  type TreeEnsembleModel,
} from '@sepal/ml';
import type { ForestTrialTask, GbdtTrialTask, TreeTrialOutput } from '../workers/trial-protocol';

/**
 * Trains a tree trial (a random forest, or a part of one, or a gradient-boosted ensemble) on the fit rows, with the
 * validation rows for early stopping, and scores the validation and `predictRows` rows. Pure CPU work: it runs in a
 * trial worker.
 */
export function trainTreeTrial(task: ForestTrialTask | GbdtTrialTask): Omit<TreeTrialOutput, 'backend'> {
  const kind = task.task ?? 'classification';
  const classCount = kind === 'classification' ? { classCount: task.labels.length } : {};
  if (task.family === 'forest') {
    const model = trainRandomForest(task.xTrain, task.yTrain, forestParamsOf(task.params, kind), task.seed, {
      ...classCount,
      ...(task.treeIndices ? { treeIndices: task.treeIndices } : {}),
    });
    return {
      family: 'forest',
      model,
      valScores: forestSums(model, task.xVal),
      predictScores: forestSums(model, task.predictRows),
    };
  }
  const model = trainGradientBoosting(task.xTrain, task.yTrain, gbdtParamsOf(task.params, kind), task.seed, {
    ...classCount,
    validation: { x: task.xVal, y: task.yVal },
  });
  return {
    family: 'gbdt',
    model,
    valScores: treeOutputs(model, task.xVal),
    predictScores: treeOutputs(model, task.predictRows),
  };
}

/** A model's probabilities of each row, or a regressor's value as one column. */
function treeOutputs(model: TreeEnsembleModel, rows: number[][]): number[][] {
  if (rows.length === 0) return [];
  return model.task === 'regression'
    ? predictTreeValues(model, rows).map((value) => [value])
    : predictTreeProbabilities(model, rows);
}

/** Per row, the sum of the forest's (or the part's) leaf distributions or values: parts of one forest add up. */
export function forestSums(model: TreeEnsembleModel, rows: number[][]): number[][] {
  return treeOutputs(model, rows).map((row) => row.map((p) => p * model.trees.length));
}
