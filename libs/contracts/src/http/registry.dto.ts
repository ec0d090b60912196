import { z } from 'zod';
import { nonEmptyName, sha256Hex } from '../events/common';
import { runStatus } from '../events/training.events';
import {
  MAX_METRICS_PER_BATCH,
  metricKey,
  runParamsSchema,
  tagsSchema as tags,
} from '../events/tracking-fields';
/** A metric value: a finite number (NaN, Infinity and numeric strings are refused). */
const metricValue = z
  .number()
  .refine(Number.isFinite, 'must be a finite number (NaN and Infinity are refused)');
const timestamp = z.string().datetime({ offset: true });

export const createExperimentRequestSchema = z.object({ name: nonEmptyName, tags: tags.optional() }).strict();
export type CreateExperimentRequest = z.infer<typeof createExperimentRequestSchema>;

export const createRunRequestSchema = z
  .object({
    experiment: nonEmptyName,
    runId: z.string().uuid().optional(),
    parentRunId: z.string().uuid().nullable().optional(),
    name: z.string().max(200).optional(),
    params: runParamsSchema.optional(),
    tags: tags.optional(),
    dataset: nonEmptyName.optional(),
    datasetVersion: sha256Hex.optional(),
    backend: z.string().max(50).optional(),
    correlationId: z.string().max(200).optional(),
    status: runStatus.default('running'),
    startTime: timestamp.optional(),
  })
  .strict();
export type CreateRunRequest = z.infer<typeof createRunRequestSchema>;

export const updateRunRequestSchema = z
  .object({
    status: runStatus.optional(),
    tags: tags.optional(),
    endTime: timestamp.optional(),
    error: z.string().max(4000).optional(),
  })
  .strict();
export type UpdateRunRequest = z.infer<typeof updateRunRequestSchema>;

export const metricPointSchema = z
  .object({
    key: metricKey,
    value: metricValue,
    step: z
      .number()
      .int()
      .nonnegative()
      .max(Number.MAX_SAFE_INTEGER, `must be at most ${Number.MAX_SAFE_INTEGER}`)
      .default(0),
    timestamp: timestamp.optional(),
  })
  .strict();
export const logMetricsRequestSchema = z
  .object({ metrics: z.array(metricPointSchema).min(1).max(MAX_METRICS_PER_BATCH) })
  .strict();
export type LogMetricsRequest = z.infer<typeof logMetricsRequestSchema>;

export const pagingQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  pageToken: z.string().max(200).optional(),
});

export const searchRunsQuerySchema = pagingQuerySchema.extend({
  filter: z.string().max(4000).optional(),
  orderBy: z.string().max(1000).optional(),
  experiment: z.string().max(200).optional(),
  parentRunId: z.string().uuid().optional(),
});
export type SearchRunsQuery = z.infer<typeof searchRunsQuerySchema>;

/** GET /models/:name/audit: a repeated ?alias= arrives as an array and is refused (400 naming `alias`). */
export const auditQuerySchema = z.object({ alias: z.string().max(200).optional() });
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const createModelRequestSchema = z
  .object({ name: nonEmptyName, description: z.string().max(5000).optional(), tags: tags.optional() })
  .strict();
export type CreateModelRequest = z.infer<typeof createModelRequestSchema>;

export const createModelVersionRequestSchema = z
  .object({
    runId: z.string().uuid(),
    sha256: sha256Hex,
    signature: z.record(z.string(), z.unknown()).optional(),
    metrics: z.record(z.string(), metricValue).optional(),
    description: z.string().max(5000).optional(),
  })
  .strict();
export type CreateModelVersionRequest = z.infer<typeof createModelVersionRequestSchema>;

/** The largest model version number (PostgreSQL integer). */
export const MAX_MODEL_VERSION = 2_147_483_647;
/** A model version number, in a path (`/models/m/versions/3`) or a body. */
export const modelVersionNumberSchema = z.coerce
  .number()
  .int('must be a whole number')
  .positive('must be 1 or more')
  .max(MAX_MODEL_VERSION, `must be at most ${MAX_MODEL_VERSION}`);

export const setAliasRequestSchema = z
  .object({
    version: modelVersionNumberSchema,
    reason: z.string().max(2000).optional(),
    // No `by`: the audit records the calling key's name; a body naming someone is refused (strict).
  })
  .strict();
export type SetAliasRequest = z.infer<typeof setAliasRequestSchema>;

export const aliasNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,99}$/, 'an alias starts with a letter: letters, digits, _ and - only');

export interface ExperimentView {
  id: string;
  name: string;
  tags: Record<string, string>;
  createdAt: string;
}

export interface RunView {
  id: string;
  experimentId: string;
  experiment: string;
  parentRunId: string | null;
  name: string | null;
  status: z.infer<typeof runStatus>;
  startTime: string;
  endTime: string | null;
  params: Record<string, string | number | boolean>;
  tags: Record<string, string>;
  dataset: string | null;
  datasetVersion: string | null;
  backend: string | null;
  correlationId: string | null;
  error: string | null;
  /** The latest value (highest step) of each metric. */
  metrics: Record<string, number>;
  childrenCount: number;
  /**
   * A tree model's feature importance (each feature's share of the total split gain), largest first: the run's
   * `importance_<feature>` metrics. Empty for a run without them (e.g. a dense network).
   */
  featureImportance?: FeatureImportance[];
}

export interface FeatureImportance {
  feature: string;
  gain: number;
}

/** Metric name prefix of a feature's importance: `importance_<feature>`. */
export const FEATURE_IMPORTANCE_PREFIX = 'importance_';

/** The `importance_<feature>` metrics of a run, largest share first. */
export function featureImportanceOf(metrics: Record<string, number>): FeatureImportance[] {
  return Object.entries(metrics)
    .filter(([key]) => key.startsWith(FEATURE_IMPORTANCE_PREFIX))
    .map(([key, gain]) => ({ feature: key.slice(FEATURE_IMPORTANCE_PREFIX.length), gain }))
    .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
}

export interface RunPage {
  runs: RunView[];
  nextPageToken: string | null;
}

export interface ArtifactView {
  sha256: string;
  size: number;
  url: string;
  /** The key that uploaded it (null before uploads were recorded). */
  uploadedBy?: string | null;
}

export interface ModelVersionView {
  name: string;
  version: number;
  runId: string | null;
  sha256: string;
  size: number | null;
  artifactUrl: string;
  signature: Record<string, unknown> | null;
  metrics: Record<string, number>;
  description: string | null;
  createdAt: string;
  /** The key that registered it over REST (null for a version created from model.registered, or older ones). */
  registeredBy?: string | null;
}

export interface ModelView {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  createdAt: string;
  versions: ModelVersionView[];
  aliases: Record<string, number>;
}

/** One entry of GET /models. */
export interface ModelSummaryView {
  name: string;
  description: string | null;
  latestVersion: number | null;
  aliases: Record<string, number>;
  createdAt: string;
}

export interface ModelPage {
  models: ModelSummaryView[];
  nextPageToken: string | null;
}

export interface AliasMoveView {
  alias: string;
  version: number;
  previousVersion: number | null;
}

export interface AliasAuditEntry {
  id: number;
  model: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  by: string;
  reason: string;
  at: string;
}

export interface LineageView {
  model: string;
  version: number;
  sha256: string;
  run: RunView | null;
  parentRun: RunView | null;
  dataset: string | null;
  datasetVersion: string | null;
}

/** A model version as the registry answers it, for consumers to validate (extra fields are allowed). */
export const modelVersionViewSchema = z.object({
  name: nonEmptyName,
  version: z.number().int().positive(),
  runId: z.string().nullable(),
  sha256: sha256Hex,
  size: z.number().int().nonnegative().nullable(),
  artifactUrl: z.string().min(1),
  signature: z.record(z.string(), z.unknown()).nullable(),
  metrics: z.record(z.string(), z.number()),
  description: z.string().nullable(),
  createdAt: z.string(),
  registeredBy: z.string().nullable().optional(),
}) satisfies z.ZodType<ModelVersionView>;

/** GET /models/:name/aliases/:alias: the version the alias points to. */
export const aliasedModelVersionViewSchema = modelVersionViewSchema.extend({ alias: z.string() });
export type AliasedModelVersionView = z.infer<typeof aliasedModelVersionViewSchema>;

/**
 * The promotion gate of one registered model: the parent-run metric that decides (e.g. `test_accuracy` up,
 * `test_rmse` down), an absolute floor (a ceiling for `down`; null: none) and the margin by which a challenger must
 * beat the champion (0: strictly better; negative: tolerate that much worse).
 */
export const modelGateSchema = z
  .object({
    metric: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9_]{0,99}$/,
        'a metric name starts with a letter: letters, digits and _ only',
      ),
    direction: z.enum(['up', 'down']),
    floor: z.number().finite().nullable().default(null),
    margin: z.number().finite().min(-1e9).max(1e9).default(0),
  })
  .strict();
export type ModelGate = z.infer<typeof modelGateSchema>;

/** PUT /models/:name/gate: the gate and why (audited with the calling key's name; a `by` is refused). */
export const setModelGateRequestSchema = modelGateSchema
  .extend({ reason: z.string().max(2000).optional() })
  .strict();
export type SetModelGateRequest = z.infer<typeof setModelGateRequestSchema>;

/** GET/PUT /models/:name/gate: `gate` null means the trainer's defaults for the model's task. */
export const modelGateViewSchema = z.object({
  model: z.string(),
  gate: modelGateSchema.nullable(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type ModelGateView = z.infer<typeof modelGateViewSchema>;
