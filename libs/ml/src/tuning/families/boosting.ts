import { defaultGradientBoostingParams, MAX_ENSEMBLE_TREES } from '../../trees/tree-params';
import type { GradientBoostingParams } from '../../trees/tree-params';
import type { DataShape } from '../training-limits';
import { featureFraction, maxBins, maxDepth, minSamplesLeaf, type Definition } from './definitions';

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

export type GbdtTrial = { model: 'gbdt' } & GbdtTrialParams;

const { task: _task, ...LIBRARY_DEFAULTS } = defaultGradientBoostingParams('classification');

/**
 * The library's defaults (scikit-learn's HistGradientBoosting with early stopping on the validation rows, l2 = 1) with
 * room for 300 rounds, early stopping deciding how many.
 */
export const DEFAULT_GBDT_PARAMS: Readonly<GbdtTrialParams> = Object.freeze({
  ...LIBRARY_DEFAULTS,
  rounds: 300,
  maxDepth: 0,
});

export const GBDT_DEFINITIONS: Record<keyof GbdtTrialParams, Definition> = {
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

/** Rough seconds of a boosting trial on one core (see estimateTrialSeconds). */
export function estimateGbdtSeconds(trial: GbdtTrialParams, shape: DataShape): number {
  // Early stopping usually ends well before `rounds`: count a third of them.
  const rounds = trial.earlyStoppingRounds > 0 ? trial.rounds / 3 : trial.rounds;
  return (
    1.5e-7 * Math.max(1, shape.rows) * rounds * Math.max(1, shape.classes) * Math.max(1, shape.features) +
    0.05
  );
}
