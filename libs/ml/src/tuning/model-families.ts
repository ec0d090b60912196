import type { ValidationResult } from '../util/result';
import { DEFAULT_GBDT_PARAMS, estimateGbdtSeconds, GBDT_DEFINITIONS } from './families/boosting';
import { CNN_DEFINITIONS, DEFAULT_CNN_PARAMS, DEFAULT_IMAGE_GRID, estimateCnnSeconds } from './families/cnn';
import { definedValue, type Definition } from './families/definitions';
import { estimateDenseSeconds } from './families/dense';
import {
  DEFAULT_FOREST_PARAMS,
  estimateForestSeconds,
  FOREST_DEFINITIONS,
  REGRESSION_FOREST_FEATURE_FRACTION,
} from './families/forest';
import { MODEL_FAMILIES, type ModelFamily, type TrialParams } from './families/trial';
import { MAX_GRID_COMBINATIONS } from './grid';
import {
  DEFAULT_TRAINING_PARAMS,
  paramValueProblem,
  TRAINING_PARAM_NAMES,
  type TrainingParams,
} from './training-params';
import type { DataShape } from './training-limits';

// Each family's parameters live in a file of its own (families/); this module searches grids over them.
export { DEFAULT_GBDT_PARAMS, gbdtParamsOf, type GbdtTrial, type GbdtTrialParams } from './families/boosting';
export type { DenseTrial } from './families/dense';
export {
  CNN_DEFINITIONS,
  cnnConvolutionMacs,
  DEFAULT_IMAGE_GRID,
  estimateCnnSeconds,
  type CnnTrial,
} from './families/cnn';
export {
  DEFAULT_FOREST_PARAMS,
  forestParamsOf,
  REGRESSION_FOREST_FEATURE_FRACTION,
  type ForestTrial,
  type ForestTrialParams,
} from './families/forest';
export {
  DEFAULT_TREE_LIMITS,
  TREE_LIMIT_VARIABLES,
  treesGrown,
  trialLimitProblems,
  type TreeLimits,
} from './families/tree-limits';
export { MODEL_FAMILIES, type ModelFamily, type TrialParams } from './families/trial';

/** Each family's parameter names, in the canonical order grids expand in. */
export const FAMILY_PARAM_NAMES: { readonly [F in ModelFamily]: readonly string[] } = {
  dense: TRAINING_PARAM_NAMES,
  forest: Object.keys(FOREST_DEFINITIONS),
  gbdt: Object.keys(GBDT_DEFINITIONS),
  cnn: Object.keys(CNN_DEFINITIONS),
};

const FAMILY_DEFAULTS: { readonly [F in ModelFamily]: Readonly<Record<string, unknown>> } = {
  dense: DEFAULT_TRAINING_PARAMS,
  forest: DEFAULT_FOREST_PARAMS,
  gbdt: DEFAULT_GBDT_PARAMS,
  cnn: DEFAULT_CNN_PARAMS,
};

/** The families that train on tables (cnn trains on images). */
export const TABLE_FAMILIES: readonly ModelFamily[] = ['dense', 'forest', 'gbdt'];

export function isModelFamily(value: unknown): value is ModelFamily {
  return typeof value === 'string' && (MODEL_FAMILIES as readonly string[]).includes(value);
}

function familiesOf(name: string): ModelFamily[] {
  return MODEL_FAMILIES.filter((family) => FAMILY_PARAM_NAMES[family].includes(name));
}

/**
 * The value `value` takes as `family`'s parameter `name` (booleans and numbers may come as CLI strings), or the
 * problem with it.
 */
export function familyParamValue(
  family: ModelFamily,
  name: string,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (family === 'dense') {
    const problem = paramValueProblem(name as keyof TrainingParams, value);
    return problem === undefined ? { ok: true, value } : { ok: false, problem };
  }
  const definitions: Readonly<Record<string, Definition>> =
    family === 'forest' ? FOREST_DEFINITIONS : family === 'cnn' ? CNN_DEFINITIONS : GBDT_DEFINITIONS;
  const definition = definitions[name];
  if (definition === undefined) {
    return { ok: false, problem: `unknown parameter "${name}" for model ${family}` };
  }
  return definedValue(name, value, definition);
}

/** One grid of one or more families: `model` lists the families, the other keys their candidate values. */
export type FamilyGrid = Readonly<Record<string, readonly unknown[]>>;
/** A grid, or several (each with its own families and parameters), searched as one sweep. */
export type ModelGrid = FamilyGrid | readonly FamilyGrid[];

/** A validated sub-grid: its families and, per parameter, the (normalised) values. */
export interface CheckedGrid {
  families: ModelFamily[];
  values: Record<string, unknown[]>;
}

export const MAX_SUB_GRIDS = 16;

function unknownNameMessage(name: string, families: readonly ModelFamily[]): string {
  const all = MODEL_FAMILIES.flatMap((family) => FAMILY_PARAM_NAMES[family]);
  const sameButCase = all.find((known) => known.toLowerCase() === name.toLowerCase());
  const hint = sameButCase === undefined ? '' : ` (did you mean ${sameButCase}?)`;
  const known = families.map((family) => `${family}: ${FAMILY_PARAM_NAMES[family].join(', ')}`).join('; ');
  return `unknown parameter "${name}"${hint} for model ${families.join(', ')}; known parameters: model; ${known}`;
}

/**
 * Checks a grid (or a list of grids) from untrusted input and reports every problem at once, each naming the
 * parameter (and the family, for a parameter two families share). A grid without `model` searches `defaultFamily`.
 */
export function validateModelGrid(
  grid: unknown,
  defaultFamily: ModelFamily = 'dense',
): ValidationResult<CheckedGrid[]> {
  const list = Array.isArray(grid) ? grid : [grid];
  const errors: string[] = [];
  if (Array.isArray(grid) && grid.length === 0) errors.push('the list of grids is empty');
  if (list.length > MAX_SUB_GRIDS) {
    return { ok: false, errors: [`${list.length} grids are listed; at most ${MAX_SUB_GRIDS} are allowed`] };
  }
  const checked: CheckedGrid[] = [];
  list.forEach((sub: unknown, position) => {
    const where = Array.isArray(grid) ? `grid ${position + 1}: ` : '';
    const result = checkSubGrid(sub, defaultFamily);
    if (result.ok) checked.push(result.value);
    else errors.push(...result.errors.map((error) => where + error));
  });
  if (errors.length === 0) {
    const combinations = checked.reduce((sum, sub) => sum + countCombinations(sub), 0);
    if (combinations > MAX_GRID_COMBINATIONS) {
      errors.push(`the grid has ${combinations} combinations; at most ${MAX_GRID_COMBINATIONS} are allowed`);
    }
  }
  return errors.length === 0 ? { ok: true, value: checked } : { ok: false, errors };
}

function checkSubGrid(grid: unknown, defaultFamily: ModelFamily): ValidationResult<CheckedGrid> {
  if (typeof grid !== 'object' || grid === null || Array.isArray(grid)) {
    return { ok: false, errors: ['the grid must be an object mapping parameter names to lists of values'] };
  }
  const errors: string[] = [];
  const entries = Object.entries(grid as Record<string, unknown>);
  let families: ModelFamily[] = [defaultFamily];
  const model = (grid as Record<string, unknown>).model;
  if (model !== undefined) {
    const listed = Array.isArray(model) ? model : [model];
    const bad = listed.filter((value) => !isModelFamily(value));
    if (listed.length === 0) errors.push('model: the list of values is empty');
    for (const value of bad) {
      errors.push(`model: ${JSON.stringify(value)} is not one of ${MODEL_FAMILIES.join(', ')}`);
    }
    if (new Set(listed).size !== listed.length) errors.push('model: a family is listed twice');
    if (bad.length === 0 && listed.length > 0) families = listed as ModelFamily[];
  }
  const values: Record<string, unknown[]> = {};
  for (const [name, candidates] of entries) {
    if (name === 'model') continue;
    const owners = families.filter((family) => FAMILY_PARAM_NAMES[family].includes(name));
    if (owners.length === 0) {
      const elsewhere = familiesOf(name);
      errors.push(
        elsewhere.length > 0
          ? `${name} is a parameter of model ${elsewhere.join(', ')}, not of ${families.join(', ')}; add it to model or move it to a grid of its own`
          : unknownNameMessage(name, families),
      );
      continue;
    }
    if (!Array.isArray(candidates)) {
      errors.push(`${name}: expected a list of values, got ${JSON.stringify(candidates)}`);
      continue;
    }
    if (candidates.length === 0) {
      errors.push(`${name}: the list of values is empty`);
      continue;
    }
    const normalised: unknown[] = [];
    candidates.forEach((candidate: unknown) => {
      for (const family of owners) {
        const result = familyParamValue(family, name, candidate);
        if (!result.ok) {
          errors.push(owners.length > 1 ? `${family}.${result.problem}` : result.problem);
          return;
        }
      }
      const value = familyParamValue(owners[0], name, candidate);
      const kept = value.ok ? value.value : candidate;
      if (normalised.includes(kept)) errors.push(`${name}: ${JSON.stringify(candidate)} is listed twice`);
      normalised.push(kept);
    });
    values[name] = normalised;
  }
  return errors.length === 0 ? { ok: true, value: { families, values } } : { ok: false, errors };
}

function countCombinations(grid: CheckedGrid): number {
  return grid.families.reduce(
    (sum, family) =>
      sum +
      Object.entries(grid.values)
        .filter(([name]) => FAMILY_PARAM_NAMES[family].includes(name))
        .reduce((product, [, values]) => product * values.length, 1),
    0,
  );
}

export function countModelGridCombinations(grids: readonly CheckedGrid[]): number {
  return grids.reduce((sum, grid) => sum + countCombinations(grid), 0);
}

/**
 * Checks a job's fixed parameters: `model` (the family of grids that name none) and any family's parameters, each
 * checked against every family that has it. Answers the bases per family and every problem.
 */
export function resolveFixedParams(
  params: Readonly<Record<string, unknown>> | undefined,
  /** A regression forest considers every feature at each split by default (scikit-learn's regressor default). */
  task: 'classification' | 'regression' = 'classification',
  /**
   * The families the job's data can train (the table families, or cnn for images): a value is checked, and its
   * problems reported, for these only; a parameter none of them has is a problem.
   */
  families: readonly ModelFamily[] = TABLE_FAMILIES,
): {
  defaultFamily: ModelFamily;
  bases: { [F in ModelFamily]: Record<string, unknown> };
  problems: string[];
} {
  const problems: string[] = [];
  const bases: { [F in ModelFamily]: Record<string, unknown> } = {
    dense: { ...FAMILY_DEFAULTS.dense },
    forest: {
      ...FAMILY_DEFAULTS.forest,
      ...(task === 'regression' ? { featureFraction: REGRESSION_FOREST_FEATURE_FRACTION } : {}),
    },
    gbdt: { ...FAMILY_DEFAULTS.gbdt },
    cnn: { ...FAMILY_DEFAULTS.cnn },
  };
  let defaultFamily: ModelFamily = 'dense';
  for (const [name, value] of Object.entries(params ?? {})) {
    if (name === 'model') {
      if (isModelFamily(value)) defaultFamily = value;
      else problems.push(`params.model: ${JSON.stringify(value)} is not one of ${MODEL_FAMILIES.join(', ')}`);
      continue;
    }
    const all = familiesOf(name);
    const owners = all.filter((family) => families.includes(family));
    if (all.length === 0) {
      problems.push(`params: ${unknownNameMessage(name, MODEL_FAMILIES)}`);
      continue;
    }
    if (owners.length === 0) {
      problems.push(
        `params.${name} is a parameter of model ${all.join(', ')}, not of ${families.join(', ')}`,
      );
      continue;
    }
    for (const family of all) {
      const result = familyParamValue(family, name, value);
      if (result.ok) bases[family][name] = result.value;
      else if (owners.includes(family)) {
        problems.push(`params.${owners.length > 1 ? `${family}.` : ''}${result.problem}`);
      }
    }
  }
  return { defaultFamily, bases, problems };
}

/**
 * Every trial of the grids: per grid, per family in its `model` order, the cartesian product of the values of that
 * family's parameters over its base (the family's canonical parameter order, the last fastest).
 */
export function expandModelGrid(
  grids: readonly CheckedGrid[],
  bases: { readonly [F in ModelFamily]: Readonly<Record<string, unknown>> } = FAMILY_DEFAULTS,
): TrialParams[] {
  const trials: TrialParams[] = [];
  for (const grid of grids) {
    for (const family of grid.families) {
      let combinations: Record<string, unknown>[] = [{ model: family, ...bases[family] }];
      for (const name of FAMILY_PARAM_NAMES[family]) {
        const values = grid.values[name];
        if (values === undefined) continue;
        combinations = combinations.flatMap((partial) =>
          values.map((value) => ({ ...partial, [name]: value })),
        );
      }
      trials.push(...(combinations as unknown as TrialParams[]));
    }
  }
  return trials;
}

/** The parameters a grid varies for this trial's family, for its name: `model=forest trees=300`. */
export function describeTrialParams(trial: TrialParams, grids: readonly CheckedGrid[]): string {
  const varied = new Set<string>();
  let multiFamily = false;
  for (const grid of grids) {
    if (grid.families.length > 1 || grids.length > 1) multiFamily = true;
    if (!grid.families.includes(trial.model)) continue;
    for (const name of Object.keys(grid.values)) {
      if (FAMILY_PARAM_NAMES[trial.model].includes(name)) varied.add(name);
    }
  }
  const record = trial as unknown as Record<string, unknown>;
  const parts = FAMILY_PARAM_NAMES[trial.model]
    .filter((name) => varied.has(name))
    .map((name) => `${name}=${String(record[name])}`);
  return [...(multiFamily || trial.model !== 'dense' ? [`model=${trial.model}`] : []), ...parts].join(' ');
}

/**
 * Rough seconds one trial takes on one core of a 2-core machine, from the work it does (measured on Wine Quality
 * white: a 300-tree forest on 3,918 rows in 3.8 s, boosting and a 16-unit network in the same run). Used to fit the
 * default grid into a budget, never as a promise.
 */
export function estimateTrialSeconds(trial: TrialParams, shape: DataShape): number {
  if (trial.model === 'forest') return estimateForestSeconds(trial, shape);
  if (trial.model === 'gbdt') return estimateGbdtSeconds(trial, shape);
  if (trial.model === 'cnn') return estimateCnnSeconds(trial, shape);
  return estimateDenseSeconds(trial, shape);
}

/**
 * The parameters the selected trial is refit with on the fit and validation rows together (scikit-learn's refit):
 * what early stopping decided on the validation rows becomes fixed, a network's epochs or a boosted ensemble's rounds
 * (`kept`: the trial's best epoch or round), and nothing stops early, since no rows are held out any more. A forest
 * is grown again as it was.
 */
export function refitTrialParams(trial: TrialParams, kept: number): TrialParams {
  const fixed = Math.max(1, Math.round(kept));
  if (trial.model === 'dense' || trial.model === 'cnn') {
    return { ...trial, epochs: Math.min(trial.epochs, fixed), earlyStoppingPatience: 0 };
  }
  if (trial.model === 'gbdt')
    return { ...trial, rounds: Math.min(trial.rounds, fixed), earlyStoppingRounds: 0 };
  return { ...trial };
}

/** Seconds a job's sweep may take by default (TRAIN_BUDGET_S; a request's budgetSeconds overrides it). */
export const DEFAULT_TRAIN_BUDGET_S = 300;

/**
 * The default grids, best families on tabular data first: a 300-tree forest, boosting at two learning rates, then
 * the dense network over learning rate × hidden units, for classification and regression, numeric and categorical
 * data alike. With the data's shape and a budget, the grids whose estimated time no longer fits are left out (the
 * first always stays, so a job trains at least one model).
 */
export function defaultModelGrid(shape?: DataShape, budgetSeconds?: number): FamilyGrid[] {
  const dense: FamilyGrid = { model: ['dense'], learningRate: [0.001, 0.01, 0.05], hiddenUnits: [8, 16, 32] };
  const candidates: FamilyGrid[] = [
    { model: ['forest'], trees: [300] },
    { model: ['gbdt'], learningRate: [0.05, 0.1] },
    dense,
  ];
  if (shape === undefined || budgetSeconds === undefined) return candidates;
  const kept: FamilyGrid[] = [];
  let spent = 0;
  for (const grid of candidates) {
    const checked = validateModelGrid(grid);
    if (!checked.ok) continue;
    const seconds = expandModelGrid(checked.value).reduce(
      (sum, trial) => sum + estimateTrialSeconds(trial, shape),
      0,
    );
    if (kept.length > 0 && spent + seconds > budgetSeconds) continue;
    kept.push(grid);
    spent += seconds;
  }
  return kept;
}

/** The default grids of a dataset: the tables' (defaultModelGrid), or DEFAULT_IMAGE_GRID for an image dataset. */
export function defaultGridOf(images: boolean, shape?: DataShape, budgetSeconds?: number): FamilyGrid[] {
  return images ? [{ ...DEFAULT_IMAGE_GRID }] : defaultModelGrid(shape, budgetSeconds);
}
