import type { DataShape } from '../training-limits';
import type { TrainingParams } from '../training-params';

export type DenseTrial = { model: 'dense' } & TrainingParams;

/** Rough seconds of a dense trial on one core (see estimateTrialSeconds). */
export function estimateDenseSeconds(trial: TrainingParams, shape: DataShape): number {
  // About a quarter of its epochs before early stopping, plus TensorFlow.js's set-up.
  const epochs = trial.earlyStoppingPatience > 0 ? trial.epochs / 4 : trial.epochs;
  return (
    2e-8 *
      Math.max(1, shape.rows) *
      epochs *
      trial.hiddenUnits *
      trial.hiddenLayers *
      Math.max(1, shape.features) +
    0.3
  );
}
