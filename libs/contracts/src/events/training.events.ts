import { z } from 'zod';
import { finiteNumber, isoTimestamp, nonEmptyName, sha256Hex } from './common';
import { eventMetricsSchema, eventParamsSchema, eventTagsSchema } from './tracking-fields';

/** A dataset's columns at most, and a column name's characters at most (the data service's MAX_COLUMNS, MAX_CELL_CHARS). */
export const MAX_DRIFT_FEATURES = 1000;
export const MAX_FEATURE_NAME_LENGTH = 1000;

const paramValue = z.union([z.number(), z.string(), z.boolean()]);

/**
 * Where a retried job starts (POST /jobs/:id/retry decides): `resolve-data` runs everything again; `evaluate` reuses
 * the selected trial kept in the artifact store (training and selection are skipped); `gate` also reuses the version
 * the failed attempt registered. `reason` says why this step, for the job record.
 */
export const jobResumeSchema = z.object({
  fromStep: z.enum(['resolve-data', 'evaluate', 'gate']),
  reason: z.string().min(1).max(1000),
  /** The attempt whose results are reused. */
  fromAttempt: z.number().int().positive(),
  /** The dataset version the reused results were trained on (evaluate, gate). */
  datasetVersion: sha256Hex.optional(),
  /** The selected trial (its model and test-split probabilities), an artifact in the registry (evaluate, gate). */
  selectedTrialSha256: sha256Hex.optional(),
  /** The version the failed attempt registered (gate). */
  registered: z
    .object({ modelName: nonEmptyName, version: z.number().int().positive(), sha256: sha256Hex })
    .optional(),
});
export type JobResume = z.infer<typeof jobResumeSchema>;

export const trainRequestedSchema = z.object({
  dataset: nonEmptyName,
  version: sha256Hex.optional(),
  modelName: nonEmptyName.optional(),
  experiment: nonEmptyName.optional(),
  grid: z
    .union([
      z.record(z.string(), z.array(paramValue)),
      z.array(z.record(z.string(), z.array(paramValue))).max(16),
    ])
    .optional(),
  params: z.record(z.string(), paramValue).optional(),
  seed: z.number().int().optional(),
  budgetSeconds: z.number().positive().optional(),
  reason: z.enum(['manual', 'schedule', 'feedback', 'drift', 'startup']).default('manual'),
  requestedBy: z.string().max(200).optional(),
  /** The durable job this request runs; absent: the message id (a first attempt). */
  jobId: z.string().min(1).max(200).optional(),
  /** 1 for the first run of a job; a retry carries the next attempt. */
  attempt: z.number().int().positive().default(1),
  /** A retry that resumes a failed attempt (absent: from the start). */
  resume: jobResumeSchema.optional(),
});
export type TrainRequested = z.infer<typeof trainRequestedSchema>;

export const runStatus = z.enum(['scheduled', 'running', 'finished', 'failed', 'killed']);
export type RunStatus = z.infer<typeof runStatus>;

export const trainingStartedSchema = z.object({
  runId: z.string().uuid(),
  parentRunId: z.string().uuid().nullable(),
  experiment: nonEmptyName,
  runName: z.string().max(200).optional(),
  dataset: nonEmptyName,
  datasetVersion: sha256Hex,
  params: eventParamsSchema,
  tags: eventTagsSchema.default({}),
  backend: z.string().max(50),
  startedAt: isoTimestamp,
});
export type TrainingStarted = z.infer<typeof trainingStartedSchema>;

export const trainingProgressSchema = z.object({
  runId: z.string().uuid(),
  step: z.number().int().nonnegative(),
  metrics: eventMetricsSchema,
  timestamp: isoTimestamp,
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;

export const runFinishedSchema = z.object({
  runId: z.string().uuid(),
  status: z.enum(['finished', 'failed', 'killed']),
  metrics: eventMetricsSchema.default({}),
  tags: eventTagsSchema.default({}),
  error: z.string().max(4000).optional(),
  endedAt: isoTimestamp,
  /**
   * The step the final metrics are logged at, when the sender knows it (after the steps its progress events used):
   * progress sent just before may be applied after this event, and must not become the metric's latest value.
   * Without it, the run's last step when the event is applied.
   */
  step: z.number().int().nonnegative().max(2_147_483_647).optional(),
});
export type RunFinished = z.infer<typeof runFinishedSchema>;

export const modelRegisteredSchema = z.object({
  modelName: nonEmptyName,
  version: z.number().int().positive(),
  runId: z.string().uuid(),
  sha256: sha256Hex,
  artifactUrl: z.string().min(1),
  metrics: eventMetricsSchema.default({}),
  registeredAt: isoTimestamp,
});
export type ModelRegistered = z.infer<typeof modelRegisteredSchema>;

export const modelPromotedSchema = z.object({
  modelName: nonEmptyName,
  alias: nonEmptyName,
  version: z.number().int().positive(),
  sha256: sha256Hex,
  artifactUrl: z.string().min(1),
  previousVersion: z.number().int().positive().nullable(),
  reason: z.string().max(2000),
  promotedBy: z.string().max(200),
  promotedAt: isoTimestamp,
});
export type ModelPromoted = z.infer<typeof modelPromotedSchema>;

export const driftDetectedSchema = z.object({
  modelName: nonEmptyName,
  version: z.number().int().positive(),
  /** The drifted features of one model: at most as many as a dataset has columns. */
  features: z
    .array(z.object({ name: z.string().max(MAX_FEATURE_NAME_LENGTH), psi: finiteNumber }))
    .max(MAX_DRIFT_FEATURES),
  threshold: finiteNumber,
  detectedAt: isoTimestamp,
});
export type DriftDetected = z.infer<typeof driftDetectedSchema>;
