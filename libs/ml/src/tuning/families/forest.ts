import { CLASS_WEIGHTS, MAX_ENSEMBLE_TREES, MAX_TREE_BINS } from '../../trees/tree-params';
import type { ClassWeight, RandomForestParams } from '../../trees/tree-params';
import type { DataShape } from '../training-limits';
import { featureFraction, maxBins, maxDepth, minSamplesLeaf, type Definition } from './definitions';

/** A random forest's trial parameters; maxDepth 0 grows until leaves are pure (or minSamplesLeaf stops it). */
export interface ForestTrialParams {
  trees: number;
  maxDepth: number;
  minSamplesLeaf: number;
  featureFraction: number | 'sqrt';
  bootstrap: boolean;
  maxBins: number;
  /** 'balanced' weighs each class inversely to its frequency (classification only). */
  classWeight: ClassWeight;
}

export type ForestTrial = { model: 'forest' } & ForestTrialParams;

/** A scikit-learn-like forest (RandomForestClassifier(300)): bootstrap, sqrt features, trees grown to purity. */
export const DEFAULT_FOREST_PARAMS: Readonly<ForestTrialParams> = Object.freeze({
  trees: 300,
  maxDepth: 0,
  minSamplesLeaf: 1,
  featureFraction: 'sqrt',
  bootstrap: true,
  maxBins: MAX_TREE_BINS,
  classWeight: 'none',
});

/**
 * A regression forest's default featureFraction: every feature at each split, as scikit-learn's RandomForestRegressor
 * (`sqrt` decorrelates classifiers' trees, but starves a regressor of its few informative columns).
 */
export const REGRESSION_FOREST_FEATURE_FRACTION = 1;

export const FOREST_DEFINITIONS: Record<keyof ForestTrialParams, Definition> = {
  trees: { kind: 'number', integer: true, min: 1, max: MAX_ENSEMBLE_TREES },
  maxDepth,
  minSamplesLeaf,
  featureFraction,
  bootstrap: { kind: 'boolean' },
  maxBins,
  classWeight: { kind: 'choice', values: CLASS_WEIGHTS },
};

/** The library's forest parameters for a forest trial (a regression forest weighs every row alike). */
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
    classWeight: task === 'regression' ? 'none' : (trial.classWeight ?? 'none'),
  };
}

/** Rough seconds of a forest trial on one core (see estimateTrialSeconds). */
export function estimateForestSeconds(trial: ForestTrialParams, shape: DataShape): number {
  return 3.2e-7 * Math.max(1, shape.rows) * trial.trees * Math.max(1, shape.features);
}
