import {
  countModelGridCombinations,
  DEFAULT_TRAIN_BUDGET_S,
  DEFAULT_TRAINING_LIMITS,
  DEFAULT_TREE_LIMITS,
  defaultGridOf,
  describeTrialParams,
  expandModelGrid,
  overLimitMessage,
  resolveFixedParams,
  TABLE_FAMILIES,
  trialLimitProblems,
  validateModelGrid,
  type CheckedGrid,
  type DataShape,
  type TrainingLimits,
  type TreeLimits,
  type TrialParams,
} from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';

export interface JobPlan {
  /** The job's grids, checked (the default ones when the job names none). */
  grid: CheckedGrid[];
  /** True when the job named no grid: the default grids, fitted to the budget once the data is known. */
  defaultGrid: boolean;
  trials: TrialParams[];
  /** Seconds the sweep may spend starting trials (the request's budgetSeconds, else TRAIN_BUDGET_S). */
  budgetSeconds: number;
}

export interface PlanLimits extends TrainingLimits, TreeLimits {
  /** TRAIN_BUDGET_S: the default budget of a sweep. */
  defaultBudgetSeconds: number;
  /** TRAIN_MAX_BUDGET_S: the largest budget a request may ask for. */
  maxBudgetSeconds: number;
}

/**
 * The trials of a job: its grid(s) (or the default ones, fitted to the budget when the data's shape is known) over its
 * fixed params, within the training limits; every problem is reported at once.
 */
export function planJob(
  grid: unknown,
  params: Record<string, unknown> | undefined,
  limits: PlanLimits,
  budgetSeconds?: number,
  shape?: DataShape,
  /** The dataset's task when known: a regression forest's default featureFraction is 1. */
  task?: 'classification' | 'regression',
  /**
   * Whether the dataset holds images (then model cnn is the default family and DEFAULT_IMAGE_GRID the default grid,
   * and only cnn trains) or a table (cnn is refused); undefined before the dataset is known: either plan will do.
   */
  images?: boolean,
): JobPlan {
  if (images === undefined) {
    try {
      return planJob(grid, params, limits, budgetSeconds, shape, task, false);
    } catch (tableError) {
      try {
        return planJob(grid, params, limits, budgetSeconds, shape, task, true);
      } catch {
        throw tableError;
      }
    }
  }
  const problems: string[] = [];
  const budget = budgetSeconds ?? limits.defaultBudgetSeconds;
  if (!Number.isFinite(budget) || budget <= 0) {
    problems.push(`budgetSeconds: ${budget} is not a positive number of seconds`);
  } else if (budget > limits.maxBudgetSeconds) {
    problems.push(
      `budgetSeconds ${budget} is over the limit of ${limits.maxBudgetSeconds} (TRAIN_MAX_BUDGET_S)`,
    );
  }
  const fixed = resolveFixedParams(params, task, images ? ['cnn'] : TABLE_FAMILIES);
  problems.push(...fixed.problems);
  if (images && params?.model === undefined) fixed.defaultFamily = 'cnn';
  const defaultGrid = grid === undefined;
  const validation = validateModelGrid(
    defaultGrid ? defaultGridOf(images, shape, budget) : grid,
    fixed.defaultFamily,
  );
  if (!validation.ok) problems.push(...validation.errors.map((error) => `grid: ${error}`));
  else if (validation.value.every((sub) => Object.keys(sub.values).length === 0) && !defaultGrid) {
    const named = typeof grid === 'object' && grid !== null && Object.keys(grid).length > 0;
    if (!named) problems.push('grid: it names no parameter');
  }
  const combinations = validation.ok ? countModelGridCombinations(validation.value) : 0;
  if (combinations > limits.maxTrials) {
    problems.push(overLimitMessage(limits, 'maxTrials', `a grid of ${combinations} trials`));
  }
  const trials = problems.length === 0 && validation.ok ? expandModelGrid(validation.value, fixed.bases) : [];
  problems.push(...familyDataProblems(trials, images));
  problems.push(...trialLimitProblems(trials, { ...limits, maxTrials: Number.POSITIVE_INFINITY }, shape));
  if (problems.length > 0 || !validation.ok) {
    throw new JobRejectedError(`invalid training job: ${problems.join('; ')}`);
  }
  return { grid: validation.value, defaultGrid, trials, budgetSeconds: budget };
}

/** A CNN trains on images only, and an image dataset trains CNNs only: one message per family that does not fit. */
function familyDataProblems(trials: readonly TrialParams[], images: boolean): string[] {
  const families = [...new Set(trials.map((trial) => trial.model))];
  if (images) {
    return families
      .filter((family) => family !== 'cnn')
      .map((family) => `model ${family} trains on tables; an image dataset trains model cnn only`);
  }
  return families.includes('cnn')
    ? ['model cnn trains on image datasets only (import one with sepal data import <name> --images <folder>)']
    : [];
}

/** The parameters that vary in the grid, for a trial's name and the summary table. */
export function describeTrial(params: TrialParams, grid: readonly CheckedGrid[]): string {
  return describeTrialParams(params, grid);
}

/** The limits of a trainer left at its defaults (specs and tools). */
export const DEFAULT_PLAN_LIMITS: Readonly<PlanLimits> = Object.freeze({
  ...DEFAULT_TRAINING_LIMITS,
  ...DEFAULT_TREE_LIMITS,
  defaultBudgetSeconds: DEFAULT_TRAIN_BUDGET_S,
  maxBudgetSeconds: 86_400,
});
