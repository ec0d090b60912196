import {
  forestParamsOf,
  gbdtParamsOf,
  predictTreeProbabilities,
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
  const classCount = task.labels.length;
  if (task.family === 'forest') {
    const model = trainRandomForest(
      task.xTrain,
      task.yTrain,
      forestParamsOf(task.params, 'classification'),
      task.seed,
      {
        classCount,
        ...(task.treeIndices ? { treeIndices: task.treeIndices } : {}),
      },
    );
    return {
      family: 'forest',
      model,
      valScores: forestSums(model, task.xVal),
      predictScores: forestSums(model, task.predictRows),
    };
  }
  const model = trainGradientBoosting(
    task.xTrain,
    task.yTrain,
    gbdtParamsOf(task.params, 'classification'),
    task.seed,
    {
      classCount,
      validation: { x: task.xVal, y: task.yVal },
    },
  );
  return {
    family: 'gbdt',
    model,
    valScores: predictTreeProbabilities(model, task.xVal),
    predictScores: task.predictRows.length > 0 ? predictTreeProbabilities(model, task.predictRows) : [],
  };
}

/** Per row, the sum of the forest's (or the part's) leaf distributions: parts of one forest add up. */
export function forestSums(model: TreeEnsembleModel, rows: number[][]): number[][] {
  if (rows.length === 0) return [];
  return predictTreeProbabilities(model, rows).map((row) => row.map((p) => p * model.trees.length));
}
