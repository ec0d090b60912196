import { z } from 'zod';
import { finiteNumber, nonEmptyName } from '../events/common';
import { loggedPredictionSchema } from '../events/prediction.events';
import { importDatasetResponseSchema } from './data.dto';
import { modelVersionNumberSchema } from './registry.dto';

/** The most rows one page of GET /predictions returns. */
export const MAX_PREDICTION_LOG_PAGE = 1000;
/** The most rows one CSV export of the prediction log returns. */
export const MAX_PREDICTION_LOG_EXPORT = 100_000;

const window = {
  model: nonEmptyName,
  /** A model version (the log stores it as a PostgreSQL integer). */
  version: modelVersionNumberSchema.optional(),
  /** Start of the time window (inclusive, ISO 8601). */
  from: z.string().datetime({ offset: true }).optional(),
  /** End of the time window (exclusive, ISO 8601). */
  to: z.string().datetime({ offset: true }).optional(),
};

/** GET /predictions: a model's logged predictions, oldest first, paged by the last prediction id seen. */
export const predictionLogQuerySchema = z
  .object({
    ...window,
    limit: z.coerce.number().int().min(1).max(MAX_PREDICTION_LOG_PAGE).default(100),
    /** The `next` of the previous page. */
    after: z.string().uuid().optional(),
  })
  .strict();
export type PredictionLogQuery = z.infer<typeof predictionLogQuerySchema>;

/** GET /predictions/export.csv: the same filters, one CSV. */
export const predictionLogExportQuerySchema = z
  .object({
    ...window,
    limit: z.coerce.number().int().min(1).max(MAX_PREDICTION_LOG_EXPORT).default(10_000),
  })
  .strict();
export type PredictionLogExportQuery = z.infer<typeof predictionLogExportQuerySchema>;

/** A logged prediction as served, with its label once one arrived. */
export const predictionLogEntrySchema = loggedPredictionSchema.omit({ testMetrics: true }).extend({
  label: z.union([z.string(), finiteNumber]).nullable(),
  labelledAt: z.string().datetime({ offset: true }).nullable(),
});
export type PredictionLogEntry = z.infer<typeof predictionLogEntrySchema>;

export const predictionLogPageSchema = z.object({
  items: z.array(predictionLogEntrySchema),
  /** Pass as `after` for the next page; null on the last one. */
  next: z.string().uuid().nullable(),
});
export type PredictionLogPage = z.infer<typeof predictionLogPageSchema>;

/** The most logged predictions one export into a dataset version reads. */
export const MAX_PREDICTION_EXPORT_ROWS = 100_000;

/**
 * POST /predictions/export: a model's logged predictions in a window become a new version of a dataset (train split
 * only, like feedback). `labels`: `labelled` (default) takes only the predictions a label joined, with that label;
 * `predicted` takes every prediction, labelled ones with their label and the others with the model's own answer
 * (self-training: ask for it explicitly).
 */
export const predictionExportRequestSchema = z
  .object({
    ...window,
    /** The dataset the rows go to: its latest version's schema must fit the logged inputs. */
    dataset: nonEmptyName,
    labels: z.enum(['labelled', 'predicted']).default('labelled'),
    /** Logged predictions read (oldest first) at most. */
    limit: z.coerce.number().int().min(1).max(MAX_PREDICTION_EXPORT_ROWS).default(10_000),
  })
  .strict();
export type PredictionExportRequest = z.infer<typeof predictionExportRequestSchema>;

const rowCount = z.number().int().nonnegative();

/** What an export read and wrote: the new version (or the existing one with identical content) and the rows left out. */
export const predictionExportResponseSchema = importDatasetResponseSchema.extend({
  /** Logged predictions in the window (up to `limit`). */
  read: rowCount,
  /** Rows the version appended: with a joined label, and with the model's answer as label (`labels=predicted`). */
  exported: rowCount,
  labelled: rowCount,
  predicted: rowCount,
  skipped: z.object({
    /** Without a label (`labels=labelled`). */
    unlabelled: rowCount,
    /** Already in the dataset: exported before, or sent as feedback with this prediction id. */
    alreadyInDataset: rowCount,
    /** Inputs or label that do not fit the dataset schema (the first few reasons in `problems`). */
    invalid: rowCount,
  }),
  problems: z.array(z.string()),
});
export type PredictionExportResponse = z.infer<typeof predictionExportResponseSchema>;

/** GET /predictions/quality: live quality of a model's versions (of one with `version`). */
export const liveQualityQuerySchema = z
  .object({ model: nonEmptyName, version: modelVersionNumberSchema.optional() })
  .strict();
export type LiveQualityQuery = z.infer<typeof liveQualityQuerySchema>;

export const liveQualityMetric = z.enum(['accuracy', 'macro_f1', 'rmse', 'mae']);

/**
 * Live quality per model version over the window (what sepal_live_quality exports), each metric beside the version's
 * registered test figure (null when the log carries none).
 */
export const liveQualityViewSchema = z.object({
  model: z.string(),
  windowMinutes: z.number().int().positive(),
  versions: z.array(
    z.object({
      version: z.number().int().positive(),
      labelled: rowCount,
      metrics: z.array(
        z.object({ metric: liveQualityMetric, value: z.number(), test: z.number().nullable() }),
      ),
    }),
  ),
});
export type LiveQualityView = z.infer<typeof liveQualityViewSchema>;
