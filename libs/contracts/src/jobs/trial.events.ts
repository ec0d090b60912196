import { z } from 'zod';
import { isoTimestamp } from '../events/common';

/** The durable work queue of a sweep's trials: every trainer replica's workers compete for them. */
export const TRIALS_QUEUE = 'trainer.trials';

/** A trial's identity: its job and one id per trial dispatch (the parent's key for the replies). */
const trialRef = {
  jobId: z.string().min(1).max(200),
  trialId: z.string().uuid(),
  /** The trial's index in the grid. */
  index: z.number().int().nonnegative(),
};

/**
 * `trial.requested` on trainer.trials: one trial of a sweep. `task` is the trial task as the trainer's worker threads
 * take it (the model family's parameters, the fit/validation rows, the rows to score), opaque to the transport: a
 * JSON object whose size the publisher bounds (TRIAL_MESSAGE_MAX_BYTES) and whose content the trial worker checks.
 */
export const trialRequestedSchema = z.object({
  ...trialRef,
  task: z.record(z.string(), z.unknown()),
  requestedAt: isoTimestamp,
});
export type TrialRequested = z.infer<typeof trialRequestedSchema>;

/** `trial.progress`: one epoch (or round) of a queued trial, for its parent job's child run. */
export const trialProgressSchema = z.object({
  ...trialRef,
  metrics: z.record(z.string(), z.number()),
});
export type TrialProgress = z.infer<typeof trialProgressSchema>;

/**
 * `trial.finished`: a queued trial's outcome, published before its trial.requested is acked (a trial lost with its
 * replica is redelivered). `output` is the trial worker's output (the model, its history, the scored rows), opaque
 * here like the task; `worker` is the trainer replica that trained it.
 */
export const trialFinishedSchema = z.object({
  ...trialRef,
  worker: z.string().min(1).max(200),
  status: z.enum(['finished', 'failed']),
  output: z.record(z.string(), z.unknown()).optional(),
  error: z.string().max(4000).optional(),
  seconds: z.number().nonnegative(),
});
export type TrialFinished = z.infer<typeof trialFinishedSchema>;
