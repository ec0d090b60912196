import {
  DEFAULT_GRID,
  DEFAULT_TRAINING_PARAMS,
  expandGrid,
  isTrainingParamName,
  paramValueProblem,
  TRAINING_PARAM_NAMES,
  trainingLimitProblems,
  countGridCombinations,
  overLimitMessage,
  type TrainingLimits,
  validateGrid,
  type TrainingParamGrid,
  type TrainingParams,
} from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';

export interface JobPlan {
  grid: TrainingParamGrid;
  /** Fixed parameters every trial shares (defaults overridden by the job's `params`). */
  base: TrainingParams;
  trials: TrainingParams[];
}

/**
 * The trials of a job: its grid (or the default one) over its fixed params, within the training limits; every problem
 * is reported at once.
 */
export function planJob(
  grid: unknown,
  params: Record<string, unknown> | undefined,
  limits: TrainingLimits,
): JobPlan {
  const problems: string[] = [];
  const base: TrainingParams = { ...DEFAULT_TRAINING_PARAMS };
  for (const [name, value] of Object.entries(params ?? {})) {
    if (!isTrainingParamName(name)) {
      problems.push(
        `unknown parameter "${name}" in params; known parameters: ${TRAINING_PARAM_NAMES.join(', ')}`,
      );
      continue;
    }
    const problem = paramValueProblem(name, value);
    if (problem !== undefined) problems.push(`params.${problem}`);
    else Object.assign(base, { [name]: value });
  }
  const validation = validateGrid(grid ?? DEFAULT_GRID);
  if (!validation.ok) problems.push(...validation.errors.map((error) => `grid: ${error}`));
  else if (Object.keys(validation.value).length === 0) problems.push('grid: it names no parameter');
  const combinations = validation.ok ? countGridCombinations(validation.value) : 0;
  if (combinations > limits.maxTrials) {
    problems.push(overLimitMessage(limits, 'maxTrials', `a grid of ${combinations} trials`));
  }
  const trials = problems.length === 0 && validation.ok ? expandGrid(validation.value, base) : [];
  problems.push(...trainingLimitProblems(trials.length > 0 ? trials : [base], limits));
  if (problems.length > 0 || !validation.ok) {
    throw new JobRejectedError(`invalid training job: ${problems.join('; ')}`);
  }
  return { grid: validation.value, base, trials };
}

/** The parameters that vary in the grid, for a trial's name and the summary table. */
export function describeTrial(params: TrainingParams, grid: TrainingParamGrid): string {
  return (Object.keys(grid) as (keyof TrainingParams)[]).map((name) => `${name}=${params[name]}`).join(' ');
}
