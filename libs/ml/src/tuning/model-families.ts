import type { ValidationResult } from '../util/result';
import { MAX_ENSEMBLE_TREES, MAX_TREE_BINS, MAX_TREE_DEPTH } from '../trees/tree-params';
import type { GradientBoostingParams, RandomForestParams } from '../trees/tree-params';
import { MAX_GRID_COMBINATIONS } from './grid';
import {
  DEFAULT_TRAINING_PARAMS,
  paramValueProblem,
  TRAINING_PARAM_NAMES,
  type TrainingParams,
} from './training-params';
import {
  overLimitMessage,
  trainingLimitProblems,
  type DataShape,
  type TrainingLimits,
} from './training-limits';

/** The model families a grid can search: a dense network, a random forest, gradient-boosted trees. */
export const MODEL_FAMILIES = ['dense', 'forest', 'gbdt'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** A random forest's trial parameters; maxDepth 0 grows until leaves are pure (or minSamplesLeaf stops it). */
export interface ForestTrialParams {
  trees: number;
  maxDepth: number;
  minSamplesLeaf: number;
  featureFraction: number | 'sqrt';
  bootstrap: boolean;
  maxBins: number;
}

/** A gradient-boosted ensemble's trial parameters; maxDepth 0 leaves the depth to maxLeaves. */
export interface GbdtTrialParams {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  maxLeaves: number;
  minSamplesLeaf: number;
  l2: number;
  featureFraction: number | 'sqrt';
  maxBins: number;
  earlyStoppingRounds: number;
}

export type DenseTrial = { model: 'dense' } & TrainingParams;
export type ForestTrial = { model: 'forest' } & ForestTrialParams;
export type GbdtTrial = { model: 'gbdt' } & GbdtTrialParams;
/** One trial of a grid: its family and that family's parameters. A plain object, so any transport carries it. */
export type TrialParams = DenseTrial | ForestTrial | GbdtTrial;

/** A scikit-learn-like forest (RandomForestClassifier(300)). */
export const DEFAULT_FOREST_PARAMS: Readonly<ForestTrialParams> = Object.freeze({
  trees: 300,
  maxDepth: 0,
  minSamplesLeaf: 1,
  featureFraction: 'sqrt',
  bootstrap: true,
  maxBins: MAX_TREE_BINS,
});

/**
 * A regression forest's default featureFraction: every feature at each split, as scikit-learn's RandomForestRegressor
 * (`sqrt` decorrelates classifiers' trees, but starves a regressor of its few informative columns).
 */
export const REGRESSION_FOREST_FEATURE_FRACTION = 1;

/** scikit-learn's HistGradientBoosting defaults with early stopping on the validation rows, l2 = 1. */
export const DEFAULT_GBDT_PARAMS: Readonly<GbdtTrialParams> = Object.freeze({
  rounds: 300,
  learningRate: 0.1,
  maxDepth: 0,
  maxLeaves: 31,
  minSamplesLeaf: 20,
  l2: 1,
  featureFraction: 1,
  maxBins: MAX_TREE_BINS,
  earlyStoppingRounds: 10,
});

type Definition =
  | { kind: 'number'; integer: boolean; min: number; minExclusive?: boolean; max: number; or?: string }
  | { kind: 'boolean' };

const featureFraction: Definition = {
  kind: 'number',
  integer: false,
  min: 0,
  minExclusive: true,
  max: 1,
  or: 'sqrt',
};
const maxBins: Definition = { kind: 'number', integer: true, min: 2, max: MAX_TREE_BINS };
const minSamplesLeaf: Definition = { kind: 'number', integer: true, min: 1, max: 1_000_000 };
const maxDepth: Definition = { kind: 'number', integer: true, min: 0, max: MAX_TREE_DEPTH };

const FOREST_DEFINITIONS: Record<keyof ForestTrialParams, Definition> = {
  trees: { kind: 'number', integer: true, min: 1, max: MAX_ENSEMBLE_TREES },
  maxDepth,
  minSamplesLeaf,
  featureFraction,
  bootstrap: { kind: 'boolean' },
  maxBins,
};

const GBDT_DEFINITIONS: Record<keyof GbdtTrialParams, Definition> = {
  rounds: { kind: 'number', integer: true, min: 1, max: MAX_ENSEMBLE_TREES },
  learningRate: { kind: 'number', integer: false, min: 0, minExclusive: true, max: 1 },
  maxDepth,
  maxLeaves: { kind: 'number', integer: true, min: 2, max: 65_536 },
  minSamplesLeaf,
  l2: { kind: 'number', integer: false, min: 0, max: 1e6 },
  featureFraction,
  maxBins,
  earlyStoppingRounds: { kind: 'number', integer: true, min: 0, max: MAX_ENSEMBLE_TREES },
};

/** Each family's parameter names, in the canonical order grids expand in. */
export const FAMILY_PARAM_NAMES: { readonly [F in ModelFamily]: readonly string[] } = {
  dense: TRAINING_PARAM_NAMES,
  forest: Object.keys(FOREST_DEFINITIONS),
  gbdt: Object.keys(GBDT_DEFINITIONS),
};

const FAMILY_DEFAULTS: { readonly [F in ModelFamily]: Readonly<Record<string, unknown>> } = {
  dense: DEFAULT_TRAINING_PARAMS,
  forest: DEFAULT_FOREST_PARAMS,
  gbdt: DEFAULT_GBDT_PARAMS,
};

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
    family === 'forest' ? FOREST_DEFINITIONS : GBDT_DEFINITIONS;
  const definition = definitions[name];
  if (definition === undefined) {
    return { ok: false, problem: `unknown parameter "${name}" for model ${family}` };
  }
  const shown = JSON.stringify(value) ?? String(value);
  if (definition.kind === 'boolean') {
    if (value === true || value === 'true') return { ok: true, value: true };
    if (value === false || value === 'false') return { ok: true, value: false };
    return { ok: false, problem: `${name}: ${shown} is not true or false` };
  }
  if (definition.or !== undefined && value === definition.or) return { ok: true, value };
  const alternative = definition.or === undefined ? '' : ` or "${definition.or}"`;
  if (typeof value !== 'number') {
    return { ok: false, problem: `${name}: ${shown} is not a number${alternative}` };
  }
  if (!Number.isFinite(value)) return { ok: false, problem: `${name}: ${value} is not a finite number` };
  if (definition.integer && !Number.isInteger(value)) {
    return { ok: false, problem: `${name}: ${value} is not an integer` };
  }
  const belowMin = definition.minExclusive ? value <= definition.min : value < definition.min;
  if (belowMin || value > definition.max) {
    const lower = `${definition.minExclusive ? '>' : '>='} ${definition.min}`;
    return {
      ok: false,
      problem: `${name}: ${value} is out of bounds, expected ${lower} and <= ${definition.max}${alternative}`,
    };
  }
  return { ok: true, value };
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
  };
  let defaultFamily: ModelFamily = 'dense';
  for (const [name, value] of Object.entries(params ?? {})) {
    if (name === 'model') {
      if (isModelFamily(value)) defaultFamily = value;
      else problems.push(`params.model: ${JSON.stringify(value)} is not one of ${MODEL_FAMILIES.join(', ')}`);
      continue;
    }
    const owners = familiesOf(name);
    if (owners.length === 0) {
      problems.push(`params: ${unknownNameMessage(name, MODEL_FAMILIES)}`);
      continue;
    }
    for (const family of owners) {
      const result = familyParamValue(family, name, value);
      if (result.ok) bases[family][name] = result.value;
      else problems.push(`params.${owners.length > 1 ? `${family}.` : ''}${result.problem}`);
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

/** The tree sizes a job may ask for (TRAIN_MAX_* variables), beside the dense ones. */
export interface TreeLimits {
  /** Trees of one forest. */
  maxTrees: number;
  /** Boosting rounds of one ensemble. */
  maxRounds: number;
  /** maxDepth of a tree (0, no limit, is bounded by the rows: see maxTreeRows). */
  maxTreeDepth: number;
  maxLeaves: number;
  /** Training rows × trees grown in one trial (a boosted classifier grows one tree per class per round). */
  maxTreeRows: number;
}

export const DEFAULT_TREE_LIMITS: Readonly<TreeLimits> = Object.freeze({
  maxTrees: 1000,
  maxRounds: 2000,
  maxTreeDepth: 32,
  maxLeaves: 1024,
  maxTreeRows: 50_000_000,
});

export const TREE_LIMIT_VARIABLES: Record<keyof TreeLimits, string> = {
  maxTrees: 'TRAIN_MAX_TREES',
  maxRounds: 'TRAIN_MAX_ROUNDS',
  maxTreeDepth: 'TRAIN_MAX_TREE_DEPTH',
  maxLeaves: 'TRAIN_MAX_LEAVES',
  maxTreeRows: 'TRAIN_MAX_TREE_ROWS',
};

/** Trees a trial grows at most: a forest's trees, or rounds × (classes, or 1 for two classes' softmax too). */
export function treesGrown(trial: ForestTrial | GbdtTrial, classes: number): number {
  return trial.model === 'forest' ? trial.trees : trial.rounds * Math.max(1, classes);
}

/**
 * Every limit the trials exceed (one message per limit, at the first trial over it), naming the limit, its variable
 * and the value asked for: the dense limits for dense trials, the tree limits for the others.
 */
export function trialLimitProblems(
  trials: readonly TrialParams[],
  limits: TrainingLimits & TreeLimits,
  shape?: DataShape,
): string[] {
  const dense = trials.filter((trial): trial is DenseTrial => trial.model === 'dense');
  const trees = trials.filter((trial): trial is ForestTrial | GbdtTrial => trial.model !== 'dense');
  const problems: string[] = [];
  if (trials.length > limits.maxTrials) {
    problems.push(overLimitMessage(limits, 'maxTrials', `a grid of ${trials.length} trials`));
  }
  if (dense.length > 0) {
    problems.push(...trainingLimitProblems(dense, { ...limits, maxTrials: Number.POSITIVE_INFINITY }, shape));
  }
  const over = (limit: keyof TreeLimits, asked: string) =>
    `${asked} is over the limit of ${limits[limit]} (${TREE_LIMIT_VARIABLES[limit]})`;
  const checks: [keyof TreeLimits, (t: ForestTrial | GbdtTrial) => number, (v: number) => string][] = [
    ['maxTrees', (t) => (t.model === 'forest' ? t.trees : 0), (v) => `trees ${v}`],
    ['maxRounds', (t) => (t.model === 'gbdt' ? t.rounds : 0), (v) => `rounds ${v}`],
    ['maxTreeDepth', (t) => t.maxDepth, (v) => `maxDepth ${v}`],
    ['maxLeaves', (t) => (t.model === 'gbdt' ? t.maxLeaves : 0), (v) => `maxLeaves ${v}`],
  ];
  if (shape) {
    checks.push([
      'maxTreeRows',
      (t) => shape.rows * treesGrown(t, shape.classes),
      (v) => `${shape.rows} rows × trees grown = ${v}`,
    ]);
  }
  for (const [limit, measure, describe] of checks) {
    const first = trees.find((trial) => measure(trial) > limits[limit]);
    if (first) problems.push(over(limit, describe(measure(first))));
  }
  return problems;
}

/** The library's forest parameters for a forest trial. */
export function forestParamsOf(
  trial: ForestTrialParams,
  task: RandomForestParams['task'],
): RandomForestParams {
  return {
    task,
    trees: trial.trees,
    maxDepth: trial.maxDepth === 0 ? null : trial.maxDepth,
    minSamplesLeaf: trial.minSamplesLeaf,
    featureFraction: trial.featureFraction,
    maxBins: trial.maxBins,
    bootstrap: trial.bootstrap,
  };
}

/** The library's boosting parameters for a gbdt trial. */
export function gbdtParamsOf(
  trial: GbdtTrialParams,
  task: GradientBoostingParams['task'],
): GradientBoostingParams {
  return {
    task,
    rounds: trial.rounds,
    learningRate: trial.learningRate,
    maxDepth: trial.maxDepth === 0 ? null : trial.maxDepth,
    maxLeaves: trial.maxLeaves,
    minSamplesLeaf: trial.minSamplesLeaf,
    l2: trial.l2,
    featureFraction: trial.featureFraction,
    maxBins: trial.maxBins,
    earlyStoppingRounds: trial.earlyStoppingRounds,
  };
}

/**
 * Rough seconds one trial takes on one core of a 2-core machine, from the work it does (measured on Wine Quality
 * white: a 300-tree forest on 3,918 rows in 3.8 s, boosting and a 16-unit network in the same run). Used to fit the
 * default grid into a budget, never as a promise.
 */
export function estimateTrialSeconds(trial: TrialParams, shape: DataShape): number {
  const rows = Math.max(1, shape.rows);
  const features = Math.max(1, shape.features);
  if (trial.model === 'forest') return 3.2e-7 * rows * trial.trees * features;
  if (trial.model === 'gbdt') {
    // Early stopping usually ends well before `rounds`: count a third of them.
    const rounds = trial.earlyStoppingRounds > 0 ? trial.rounds / 3 : trial.rounds;
    return 1.5e-7 * rows * rounds * Math.max(1, shape.classes) * features + 0.05;
  }
  // A dense trial: about a quarter of its epochs before early stopping, plus TensorFlow.js's set-up.
  const epochs = trial.earlyStoppingPatience > 0 ? trial.epochs / 4 : trial.epochs;
  return 2e-8 * rows * epochs * trial.hiddenUnits * trial.hiddenLayers * features + 0.3;
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
