import { z } from 'zod';
import { isoTimestamp, nonEmptyName, sha256Hex } from '../events/common';
import { jobStepId, jobStepState } from './job-steps';

const summaryValue = z.union([z.number(), z.string().max(500), z.boolean(), z.null()]);

/**
 * `job.step-changed`: a trainer reports a step's state. Events of one job may arrive in any order (several registry
 * consumers): the registry keeps, per step, the report with the highest (attempt, sequence), so a late `running`
 * never overwrites a `succeeded`.
 */
export const jobStepChangedSchema = z.object({
  jobId: z.string().min(1).max(200),
  step: jobStepId,
  state: jobStepState,
  attempt: z.number().int().positive(),
  /** Monotonic per job and attempt (the trainer's counter). */
  sequence: z.number().int().nonnegative(),
  at: isoTimestamp,
  /** Which trainer replica ran it. */
  worker: z.string().max(200).optional(),
  /** The parent run of the sweep, once known (links the job to runs and model versions). */
  parentRunId: z.string().uuid().optional(),
  /** A few figures for the job view, e.g. {"trials": 9, "selected": 4, "test_accuracy": 0.97}. */
  summary: z.record(z.string(), summaryValue).default({}),
  error: z.string().max(4000).optional(),
});
export type JobStepChanged = z.infer<typeof jobStepChangedSchema>;

/** `job.cancel-requested`: broadcast to every trainer replica; the one running the job stops it. */
export const jobCancelRequestedSchema = z.object({
  jobId: z.string().min(1).max(200),
  requestedBy: z.string().max(200).optional(),
  at: isoTimestamp,
});
export type JobCancelRequested = z.infer<typeof jobCancelRequestedSchema>;

/** `model.served`: a gateway replica serves this version now (the job's `served` step). */
export const modelServedSchema = z.object({
  modelName: nonEmptyName,
  version: z.number().int().positive(),
  sha256: sha256Hex,
  replica: z.string().min(1).max(200),
  at: isoTimestamp,
});
export type ModelServed = z.infer<typeof modelServedSchema>;
