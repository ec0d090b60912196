import { z } from 'zod';

export const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256 (64 characters)');
export const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');
export const isoTimestamp = z.string().datetime({ offset: true });
export const nonEmptyName = z.string().trim().min(1).max(200);
/** Features as a named object (`{"sepal_length": 5.1, ...}`) or as an array in the dataset's feature order. */
export const featureValues = z.union([z.record(z.string(), finiteNumber), z.array(finiteNumber).min(1)]);
export type FeatureValues = z.infer<typeof featureValues>;

/** One cell of a dataset row: a number (numeric column), a string (categorical column) or null (missing value). */
export const featureCell = z.union([finiteNumber, z.string().max(1000), z.null()]);
export type FeatureCell = z.infer<typeof featureCell>;
/** Feature values of a dataset sample: named or in feature order; strings for categorical columns, null if missing. */
export const datasetFeatureValues = z.union([
  z.record(z.string(), featureCell),
  z.array(featureCell).min(1).max(10_000),
]);
export type DatasetFeatureValues = z.infer<typeof datasetFeatureValues>;
/** A sample's truth: the class name (classification) or the target value (regression). */
export const sampleLabel = z.union([nonEmptyName, finiteNumber]);
