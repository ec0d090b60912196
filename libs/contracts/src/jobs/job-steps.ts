import { z } from 'zod';

/**
 * The steps of a training job, in order, as a user reads them in a job view (Prefect/Airflow task runs). `served` is
 * reported by every gateway replica once it serves the promoted version. `refit` (the selected configuration trained
 * again on fit + validation rows) came later: a job recorded before it has no row for it, and its view shows it
 * pending (or skipped, when the trainer runs with TRAIN_REFIT=false).
 */
const TRAIN_JOB_STEPS = [
  'resolve-data',
  'train-trials',
  'select',
  'refit',
  'evaluate',
  'export',
  'parity',
  'register',
  'gate',
  'promote',
  'served',
] as const;

/**
 * The steps of a batch scoring job (POST /batch-jobs on the registry, scored by a trainer replica): fetch the input
 * (a dataset version's export or the uploaded CSV) and the model version it was pinned to, score every row in a
 * worker thread, then store the output CSV in the registry. The output is registered only by `store-output`, once
 * it is whole.
 */
export const BATCH_JOB_STEPS = ['resolve-input', 'score', 'store-output'] as const;

/** What a job does: train (train.requested) or score a file in a batch (batch.requested). */
export const jobKind = z.enum(['train', 'batch']);
export type JobKind = z.infer<typeof jobKind>;

export const jobStepId = z.enum([...TRAIN_JOB_STEPS, ...BATCH_JOB_STEPS]);
export type JobStepId = z.infer<typeof jobStepId>;

/** The steps of a training job, in order (see above). */
export const JOB_STEPS: readonly JobStepId[] = TRAIN_JOB_STEPS;

/** The steps of a job of `kind`, in order. */
export function stepsOfKind(kind: JobKind): readonly JobStepId[] {
  return kind === 'batch' ? BATCH_JOB_STEPS : JOB_STEPS;
}

/** The kind of job a step belongs to. */
export function kindOfStep(step: JobStepId): JobKind {
  return (BATCH_JOB_STEPS as readonly string[]).includes(step) ? 'batch' : 'train';
}

/** Human titles of the steps. */
export const JOB_STEP_TITLES: Record<JobStepId, string> = {
  'resolve-input': 'resolve input and model',
  score: 'score rows',
  'store-output': 'store output',
  'resolve-data': 'resolve data',
  'train-trials': 'train trials',
  select: 'select',
  refit: 'refit on fit + validation rows',
  evaluate: 'evaluate on test',
  export: 'export',
  parity: 'parity check',
  register: 'register',
  gate: 'gate',
  promote: 'promote',
  served: 'served',
};

/** A step's state; `skipped`: not needed (e.g. promote after a rejecting gate). */
export const jobStepState = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']);
export type JobStepState = z.infer<typeof jobStepState>;

/** The states in which a step has ended (it does no more work in its attempt). */
export const ENDED_JOB_STEP_STATES: readonly JobStepState[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

/** A job's state. `cancelling`: cancel asked, the trainer has not stopped yet. */
export const jobState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled']);
export type JobStateName = z.infer<typeof jobState>;

export const TERMINAL_JOB_STATES: readonly JobStateName[] = ['succeeded', 'failed', 'cancelled'];
