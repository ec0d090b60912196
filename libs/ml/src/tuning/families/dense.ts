import type { DataShape } from '../training-limits';
import type { TrainingParams } from '../training-params';

export type DenseTrial = { model: 'dense' } & TrainingParams;

/**
 * Seconds per training batch of a small dense network in a trial worker (TensorFlow.js on WASM), where each batch's
 * kernel calls cost more than its arithmetic: `npm run bench:quality` on an idle 2-core machine (2026-12-08) took
 * 27.4 s for Wine red's 9 dense trials and refit (1,022 fit rows), 101 s for white's (3,134 rows) and 25 s for Iris's
 * 46 fold trainings (96 rows), 1.7 to 2.0 ms per batch of 16 over a quarter of 100 epochs.
 */
export const DENSE_SECONDS_PER_BATCH = 1.8e-3;

/** Rough seconds of a dense trial on one core (see estimateTrialSeconds). */
export function estimateDenseSeconds(trial: TrainingParams, shape: DataShape): number {
  // About a quarter of its epochs before early stopping, plus TensorFlow.js's set-up.
  const epochs = trial.earlyStoppingPatience > 0 ? trial.epochs / 4 : trial.epochs;
  const rows = Math.max(1, shape.rows);
  const batches = epochs * Math.ceil(rows / Math.max(1, trial.batchSize));
  const arithmetic =
    2e-8 * rows * epochs * trial.hiddenUnits * trial.hiddenLayers * Math.max(1, shape.features);
  return 0.3 + batches * DENSE_SECONDS_PER_BATCH + arithmetic;
}
