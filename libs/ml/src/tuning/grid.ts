import type { ValidationResult } from '../util/result';
import {
  DEFAULT_TRAINING_PARAMS,
  isTrainingParamName,
  paramValueProblem,
  TRAINING_PARAM_NAMES,
  type TrainingParamName,
  type TrainingParams,
} from './training-params';

/** Candidate values per parameter; parameters left out keep their default. */
export type TrainingParamGrid = { readonly [K in TrainingParamName]?: readonly TrainingParams[K][] };

/** An absolute ceiling, before any grid is expanded in memory; the trainer's TRAIN_MAX_TRIALS is the working limit. */
export const MAX_GRID_COMBINATIONS = 10_000;

export const DEFAULT_GRID: TrainingParamGrid = Object.freeze({
  learningRate: [0.001, 0.01, 0.05],
  hiddenUnits: [8, 16, 32],
});

/** Checks untrusted input (a request body, a parsed CLI argument) and reports every problem at once. */
export function validateGrid(grid: unknown): ValidationResult<TrainingParamGrid> {
  if (typeof grid !== 'object' || grid === null || Array.isArray(grid)) {
    return { ok: false, errors: ['the grid must be an object mapping parameter names to lists of values'] };
  }
  const errors: string[] = [];
  for (const [name, values] of Object.entries(grid)) {
    if (!isTrainingParamName(name)) {
      errors.push(unknownParameterMessage(name));
    } else if (!Array.isArray(values)) {
      errors.push(`${name}: expected a list of values, got ${JSON.stringify(values)}`);
    } else if (values.length === 0) {
      errors.push(`${name}: the list of values is empty`);
    } else {
      errors.push(...valueListProblems(name, values));
    }
  }
  if (errors.length === 0) {
    const combinations = countGridCombinations(grid as TrainingParamGrid);
    if (combinations > MAX_GRID_COMBINATIONS) {
      errors.push(`the grid has ${combinations} combinations; at most ${MAX_GRID_COMBINATIONS} are allowed`);
    }
  }
  return errors.length === 0 ? { ok: true, value: grid as TrainingParamGrid } : { ok: false, errors };
}

export function countGridCombinations(grid: TrainingParamGrid): number {
  return Object.values(grid).reduce((product, values) => product * (values?.length ?? 1), 1);
}

/**
 * Every combination of the grid's values merged over `base`. Parameters vary in the canonical order of
 * TRAINING_PARAM_NAMES, the last one fastest, so the same grid always yields the same sequence.
 */
export function expandGrid(
  grid: TrainingParamGrid,
  base: Readonly<TrainingParams> = DEFAULT_TRAINING_PARAMS,
): TrainingParams[] {
  const validation = validateGrid(grid);
  if (!validation.ok) {
    throw new Error(`Invalid grid: ${validation.errors.join('; ')}`);
  }
  let combinations: TrainingParams[] = [{ ...base }];
  for (const name of TRAINING_PARAM_NAMES) {
    const values: readonly unknown[] | undefined = grid[name];
    if (values === undefined) continue;
    combinations = combinations.flatMap((partial) => values.map((value) => ({ ...partial, [name]: value })));
  }
  return combinations;
}

function valueListProblems(name: TrainingParamName, values: readonly unknown[]): string[] {
  const problems: string[] = [];
  values.forEach((value, index) => {
    const problem = paramValueProblem(name, value);
    if (problem !== undefined) problems.push(problem);
    else if (values.indexOf(value) !== index)
      problems.push(`${name}: ${JSON.stringify(value)} is listed twice`);
  });
  return problems;
}

function unknownParameterMessage(name: string): string {
  const sameButCase = TRAINING_PARAM_NAMES.find((known) => known.toLowerCase() === name.toLowerCase());
  const hint = sameButCase === undefined ? '' : ` (did you mean ${sameButCase}?)`;
  return `unknown parameter "${name}"${hint}; known parameters: ${TRAINING_PARAM_NAMES.join(', ')}`;
}
