import {
  countModelGridCombinations,
  DEFAULT_TRAIN_BUDGET_S,
  DEFAULT_TRAINING_LIMITS,
  DEFAULT_TREE_LIMITS,
  defaultModelGrid,
  describeTrialParams,
  expandModelGrid,
  overLimitMessage,
  resolveFixedParams,
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
): JobPlan {
  const problems: string[] = [];
  const budget = budgetSeconds ?? limits.defaultBudgetSeconds;
  if (!Number.isFinite(budget) || budget <= 0) {
    problems.push(`budgetSeconds: ${budget} is not a positive number of seconds`);
  } else if (budget > limits.maxBudgetSeconds) {
    problems.push(
      `budgetSeconds ${budget} is over the limit of ${limits.maxBudgetSeconds} (TRAIN_MAX_BUDGET_S)`,
    );
  }
  const fixed = resolveFixedParams(params, task);
  problems.push(...fixed.problems);
  const defaultGrid = grid === undefined;
  const validation = validateModelGrid(
    defaultGrid ? defaultModelGrid(shape, budget) : grid,
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
  problems.push(...trialLimitProblems(trials, { ...limits, maxTrials: Number.POSITIVE_INFINITY }, shape));
  if (problems.length > 0 || !validation.ok) {
    throw new JobRejectedError(`invalid training job: ${problems.join('; ')}`);
  }
  return { grid: validation.value, defaultGrid, trials, budgetSeconds: budget };
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
