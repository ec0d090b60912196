import { z } from 'zod';
import { datasetFeatureValues, isoTimestamp, nonEmptyName, sampleLabel, sha256Hex } from './common';

/** Why a dataset version was made. */
/** Why a version exists; `prediction-log`: logged predictions exported into the dataset (POST /predictions/export). */
export const datasetVersionReason = z.enum(['import', 'feedback', 'manual', 'prediction-log']);

export const datasetVersionedSchema = z.object({
  dataset: nonEmptyName,
  version: sha256Hex,
  parentVersion: sha256Hex.nullable(),
  rowCount: z.number().int().nonnegative(),
  trainRows: z.number().int().nonnegative(),
  testRows: z.number().int().nonnegative(),
  classCounts: z.record(z.string(), z.number().int().nonnegative()),
  reason: datasetVersionReason,
  createdAt: isoTimestamp,
});
export type DatasetVersioned = z.infer<typeof datasetVersionedSchema>;

export const feedbackReceivedSchema = z.object({
  /** The client's id of the sample (idempotency only: the data service names the stored row itself). */
  feedbackId: z.string().uuid().optional(),
  /**
   * The name of the key that sent the sample, as the gateway that received it saw it (`@Actor`); the data service
   * records it on the row, rate-limits by it and audits the commit it triggers. Absent from older gateways.
   */
  submittedBy: z.string().min(1).max(200).optional(),
  dataset: nonEmptyName.default('iris'),
  features: datasetFeatureValues,
  /** The class name (classification) or the target value (regression). */
  label: sampleLabel,
  source: z.string().max(200).optional(),
  modelName: z.string().optional(),
  modelVersion: z.number().int().positive().optional(),
  /** The logged prediction this label judges: the data service joins it for live quality. */
  predictionId: z.string().uuid().optional(),
});
export type FeedbackReceived = z.infer<typeof feedbackReceivedSchema>;
