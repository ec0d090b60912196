import { z } from 'zod';
import {
  datasetFeatureValues,
  featureCell,
  isoTimestamp,
  nonEmptyName,
  sampleLabel,
  sha256Hex,
} from '../events/common';
import { datasetVersionReason } from '../events/data.events';
import { imageSpecSchema } from './image-spec';

export const importDatasetRequestSchema = z
  .object({
    content: z
      .string()
      .max(50 * 1024 * 1024)
      .optional(),
    fileName: z.string().max(300).optional(),
  })
  .strict();
export type ImportDatasetRequest = z.infer<typeof importDatasetRequestSchema>;

export const feedbackRequestSchema = z
  .object({
    id: z.string().uuid().optional(),
    /** Numbers for numeric columns, strings for categorical ones, null for a missing value. */
    features: datasetFeatureValues,
    /** The class name (classification) or the target value (regression). */
    label: sampleLabel,
    source: z.string().max(200).optional(),
    /** The id of the logged prediction this label judges (X-Prediction-Id): joins it for live quality. */
    predictionId: z.string().uuid().optional(),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

/** Request examples of feedbackRequestSchema for the OpenAPI docs of every service that accepts feedback. */
export const feedbackRequestExamples = {
  named: {
    value: {
      features: { sepal_length: 5.9, sepal_width: 3.0, petal_length: 5.1, petal_width: 1.8 },
      label: 'Iris-virginica',
    },
  },
  array: { value: { features: [5.1, 3.5, 1.4, 0.2], label: 'Iris-setosa' } },
};

export const splitQuerySchema = z.object({ split: z.enum(['train', 'test']).optional() });

export const rowsQuerySchema = splitQuerySchema.extend({
  cursor: z.coerce
    .number()
    .int()
    .min(-1)
    .max(2_147_483_647, 'must be at most 2147483647 (a row ordinal)')
    .default(-1),
  limit: z.coerce.number().int().min(1).max(10000).default(1000),
});
export type RowsQuery = z.infer<typeof rowsQuerySchema>;

export const diffQuerySchema = z.object({ from: z.string().min(1), to: z.string().min(1).default('latest') });

export const feedbackListQuerySchema = z.object({
  state: z.enum(['pending', 'committed', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const count = z.number().int().nonnegative();
const split = z.enum(['train', 'test']);

export const datasetTask = z.enum(['classification', 'regression']);
export type DatasetTask = z.infer<typeof datasetTask>;

/** One feature column: numeric (numbers, null if missing) or categorical (strings, encoded one-hot by the model). */
export const featureColumnSchema = z.object({
  name: z.string(),
  type: z.enum(['numeric', 'categorical']),
  encoding: z.literal('one-hot').optional(),
});
export type FeatureColumn = z.infer<typeof featureColumnSchema>;

/**
 * What every version records about its columns: feature order, target, task and the label map (index = class;
 * empty for regression). `columns` gives each feature's type in `features` order; versions written before it
 * existed have none, which means every feature is numeric (read it through featureColumnsOf).
 */
export const datasetSchemaSchema = z.object({
  features: z.array(z.string()).min(1),
  target: z.string(),
  task: datasetTask,
  labels: z.array(z.string()),
  columns: z.array(featureColumnSchema).optional(),
  /**
   * Image datasets only: the declared input shape and channel policy. Their one feature, `image`, holds each row's
   * image hash (GET /datasets/:name/images/:hash; pixels in bulk: GET .../versions/:ref/images).
   */
  image: imageSpecSchema.optional(),
});
export type DatasetSchema = z.infer<typeof datasetSchemaSchema>;

/** The type of every feature in `features` order; a schema without `columns` is all numeric. */
export function featureColumnsOf(schema: Pick<DatasetSchema, 'features' | 'columns'>): FeatureColumn[] {
  return schema.columns ?? schema.features.map((name) => ({ name, type: 'numeric' as const }));
}

const booleanQuery = z
  .enum(['true', 'false', '1', '0', ''])
  .transform((v) => v === 'true' || v === '1' || v === '');
const columnList = z
  .string()
  .max(10_000)
  .transform((v) =>
    v
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );

/**
 * Query parameters of POST /datasets/:name/import (the body is the CSV, `text/csv`; no body imports a built-in
 * dataset's shipped file). Everything not given is inferred on the first import, or taken from the stored schema.
 */
export const importQuerySchema = z
  .object({
    target: z.string().min(1).max(200).optional(),
    task: datasetTask.optional(),
    /** Feature columns, in order (default: every column but the target). */
    features: columnList.optional(),
    /** Columns to treat as categorical even if they look numeric. */
    categorical: columnList.optional(),
    /** `,`, `;`, a tab character or the word `tab` (default: detected). */
    delimiter: z
      .enum([',', ';', '\t', 'tab'])
      .transform((d) => (d === 'tab' ? '\t' : d))
      .optional(),
    header: booleanQuery.optional(),
    dryRun: booleanQuery.optional(),
    /** Replace the stored schema instead of refusing a file that does not fit it. */
    newSchema: booleanQuery.optional(),
    fileName: z.string().max(300).optional(),
  })
  .strict();
export type ImportQuery = z.infer<typeof importQuerySchema>;

/** POST /datasets/:name/import?dryRun=true: what an import would make of the file; nothing is written. */
export const importDryRunResponseSchema = z.object({
  dryRun: z.literal(true),
  schema: datasetSchemaSchema,
  rowCount: z.number().int().nonnegative(),
  /** Every problem found (line, column, what is wrong), at most 100; an import of this file would refuse the first. */
  problems: z.array(z.string()),
});
export type ImportDryRunResponse = z.infer<typeof importDryRunResponseSchema>;

/** Rows per class name in each split. */
export const classCountsSchema = z.object({
  train: z.record(z.string(), count),
  test: z.record(z.string(), count),
});
export type ClassCounts = z.infer<typeof classCountsSchema>;

/** A documented correction a version applied to its raw file (e.g. the Iris errata). */
export const appliedCleaningRuleSchema = z.object({
  id: z.string(),
  row: z.number().int().positive(),
  changes: z.array(z.object({ feature: z.string(), from: z.number(), to: z.number() })),
  reference: z.string(),
});
export type AppliedCleaningRule = z.infer<typeof appliedCleaningRuleSchema>;

/** One immutable dataset version (GET /datasets/:name/versions/:ref), named by the SHA-256 of its content. */
export const datasetVersionSchema = z.object({
  id: sha256Hex,
  dataset: nonEmptyName,
  /** 1, 2, … per dataset: `v2` in refs and listings. */
  seq: z.number().int().positive(),
  parentId: sha256Hex.nullable(),
  reason: datasetVersionReason,
  schema: datasetSchemaSchema,
  rowCount: count,
  trainRows: count,
  testRows: count,
  classCounts: classCountsSchema,
  cleaningRules: z.array(appliedCleaningRuleSchema),
  splitPolicy: z.object({ testFraction: z.number(), seed: z.number(), method: z.string() }),
  source: z.record(z.string(), z.unknown()),
  createdAt: isoTimestamp,
});
export type DatasetVersionView = z.infer<typeof datasetVersionSchema>;

/** GET /datasets/:name/versions: oldest first. */
export const datasetVersionListSchema = z.array(datasetVersionSchema);

/** POST /datasets/:name/import: `created` is false (and the status 200) when identical content already existed. */
export const importDatasetResponseSchema = z.object({
  created: z.boolean(),
  version: datasetVersionSchema,
  /** Rows this version wrote to storage (only what changed), and rows of its parent it marked removed. */
  rowsWritten: count.optional(),
  rowsRemoved: count.optional(),
});
export type ImportDatasetResponse = z.infer<typeof importDatasetResponseSchema>;

/** POST /datasets/:name/feedback/commit. */
export const commitFeedbackResponseSchema = importDatasetResponseSchema.extend({ feedbackRows: count });
export type CommitFeedbackResponse = z.infer<typeof commitFeedbackResponseSchema>;

/** One entry of GET /datasets: a catalog dataset and what has been imported of it. */
export const datasetSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  file: z.string(),
  features: z.array(z.string()),
  target: z.string(),
  imported: z.boolean(),
  versionCount: count,
  latestVersion: sha256Hex.nullable(),
});
export type DatasetSummaryView = z.infer<typeof datasetSummarySchema>;
export const datasetListSchema = z.array(datasetSummarySchema);

const diffEnd = datasetVersionSchema.pick({ id: true, seq: true, rowCount: true, classCounts: true });
const diffRow = z.object({
  key: z.string(),
  features: z.array(featureCell),
  /** The class name (classification) or the target value (regression). */
  label: z.union([z.string(), z.number()]),
  split,
  origin: z.string(),
});

/** GET /datasets/:name/diff: counts of the change, and at most 1000 of the rows added and removed. */
export const datasetDiffSchema = z.object({
  dataset: z.string(),
  from: diffEnd,
  to: diffEnd,
  rowsAdded: count,
  rowsRemoved: count,
  rowsMovedBetweenSplits: count,
  added: z.array(diffRow),
  removed: z.array(diffRow),
});
export type DatasetDiffView = z.infer<typeof datasetDiffSchema>;

/**
 * One page of a split: features in the dataset's feature order (numbers, strings for categorical columns, null for
 * missing values) and labels (the class index for classification, the target value for regression); follow
 * `nextCursor`.
 */
export const rowPageResponseSchema = z.object({
  dataset: z.string(),
  version: sha256Hex,
  split: z.enum(['train', 'test', 'all']),
  features: z.array(z.array(featureCell)),
  labels: z.array(z.number()),
  nextCursor: z.number().int().nullable(),
});
export type RowPageResponse = z.infer<typeof rowPageResponseSchema>;

/** A stored feedback sample (GET /datasets/:name/feedback). */
export const feedbackSampleSchema = z.object({
  id: z.string(),
  dataset: z.string(),
  features: z.array(featureCell),
  /** The class index (classification) or the target value (regression). */
  label: z.number(),
  /** The class name, or the target value as text (regression). */
  className: z.string(),
  /** Why the sample looks suspicious (e.g. far outside the training range); it is stored anyway. */
  flags: z.array(z.string()),
  source: z.string().nullable(),
  /** The name of the key that sent it ('unknown' for samples stored before keys were recorded). */
  submittedBy: z.string(),
  /** The id its client gave it (idempotency only), if any; `id` is the server's. */
  clientId: z.string().nullable(),
  receivedAt: isoTimestamp,
  committedVersion: sha256Hex.nullable(),
});
export type FeedbackSampleView = z.infer<typeof feedbackSampleSchema>;

/** POST /datasets/:name/feedback (202). */
export const feedbackReceiptSchema = z.object({
  id: z.string(),
  dataset: z.string(),
  label: z.string(),
  flags: z.array(z.string()),
  pending: count,
  /** Set when this sample triggered the every-N commit policy. */
  committedVersion: sha256Hex.optional(),
});
export type FeedbackReceipt = z.infer<typeof feedbackReceiptSchema>;

/** One change of a dataset as GET /datasets/:name/audit lists it: who (the calling key's name) did what. */
export interface DataAuditEntry {
  id: number;
  dataset: string;
  action:
    | 'import'
    | 'feedback-commit'
    | 'feedback-auto-commit'
    | 'evaluation-set-frozen'
    | 'evaluation-set-extended'
    | 'prediction-log-export';
  /** The version the change produced or found (null when a commit had nothing pending). */
  version: string | null;
  /** false when identical content returned an existing version. */
  created: boolean;
  actor: string;
  at: string;
}

/**
 * POST /datasets/:name/evaluation-sets/:model: the model's frozen evaluation set, frozen at `version` (its test rows,
 * feedback excluded) when the model has none yet, then brought up to date with later imports. `version` is used only
 * the first time.
 */
export const evaluationSetRequestSchema = z.object({ version: sha256Hex }).strict();
export type EvaluationSetRequest = z.infer<typeof evaluationSetRequestSchema>;

/** A model's frozen evaluation set: what decides its promotions. */
export const evaluationSetSchema = z.object({
  model: z.string(),
  dataset: z.string(),
  /** The dataset version whose test rows it was frozen from (the model's first promotion). */
  baseVersion: sha256Hex,
  /** The sequence number of the latest dataset version it has looked at (imports after it extend it next time). */
  seenSeq: count,
  rows: count,
  frozenBy: z.string(),
  frozenAt: isoTimestamp,
});
export type EvaluationSetView = z.infer<typeof evaluationSetSchema>;

export const evaluationRowsQuerySchema = z.object({
  cursor: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(-1),
  limit: z.coerce.number().int().min(1).max(10000).default(1000),
});
export type EvaluationRowsQuery = z.infer<typeof evaluationRowsQuerySchema>;

/** GET /datasets/:name/evaluation-sets/:model/rows: a page of the frozen rows, in row-id order. */
export const evaluationRowsPageSchema = z.object({
  model: z.string(),
  dataset: z.string(),
  features: z.array(z.array(featureCell)),
  labels: z.array(z.number()),
  nextCursor: z.number().int().nullable(),
});
export type EvaluationRowsPage = z.infer<typeof evaluationRowsPageSchema>;
