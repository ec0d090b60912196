import { z } from 'zod';
import { finiteNumber } from '../events/common';

/** One row: named features (`{"sepal_length": 5.1, ...}`) or an array in the model's feature order. */
export const predictRowSchema = z.union([z.record(z.string(), finiteNumber), z.array(finiteNumber).min(1)]);

/**
 * POST /predict: one row (`features`) or a batch (`instances`). The gateway checks the body against the served
 * model's feature names with its own parser, so this schema documents the shape (OpenAPI) more than it validates.
 */
export const predictRequestSchema = z.union([
  z.object({ features: predictRowSchema }).strict(),
  z.object({ instances: z.array(predictRowSchema).min(1) }).strict(),
]);
export type PredictRequest = z.infer<typeof predictRequestSchema>;

/** The model that produced an answer: model version -> run -> dataset version. */
export interface ServedModelRef {
  name: string;
  version: number;
  sha256: string;
  runId: string | null;
  datasetVersion: string | null;
}

/**
 * The id of one row's prediction (a UUIDv7: time-ordered): the key of the prediction log, and what a later label
 * names (`predictionId` in POST /feedback) to join it. Every row of every answer has one, logged or not.
 */
export const PREDICTION_ID_HEADER = 'x-prediction-id';

export interface ClassPredictionRow {
  /** This row's prediction id (see PREDICTION_ID_HEADER). */
  predictionId: string;
  /** Predicted class name. */
  class: string;
  classIndex: number;
  /** Probability of each class, by class name. */
  probabilities: Record<string, number>;
}

/** A regressor's answer for one row: the predicted target value. */
export interface ValuePredictionRow {
  /** This row's prediction id (see PREDICTION_ID_HEADER). */
  predictionId: string;
  value: number;
}

/** One row's prediction: a class with its probabilities (classifier) or a value (regressor). */
export type PredictionRow = ClassPredictionRow | ValuePredictionRow;

export interface PredictResponse {
  model: ServedModelRef;
  predictions: PredictionRow[];
  /**
   * The compatibility form: a body that is one flat object of named features (`{"sepal_length": 5.1, ...}`), as the
   * classic Iris services take, is also answered with the predicted class at the top level, as they answer it.
   */
  class_name?: string;
  /** The compatibility form of a regression model: the predicted value at the top level. */
  value?: number;
  /** The compatibility form: the only row's prediction id at the top level too. */
  predictionId?: string;
}

export interface FeedbackAccepted {
  id: string;
  dataset: string;
  label: string;
  status: 'forwarded';
}

/** Open Inference Protocol (KServe v2) tensor, as JSON. */
export const oipTensorSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z.array(z.unknown()),
});

export const oipInferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(oipTensorSchema).min(1),
  outputs: z
    .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
});
export type OipInferRequest = z.infer<typeof oipInferRequestSchema>;

export interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: (number | string)[];
}

export interface OipInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: OipTensor[];
}

export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  parameters?: Record<string, unknown>;
}

/**
 * One feature's drift as the gateway sees it: the training split's bins (inner edges; the outer bins are open) with
 * the share of the reference in each, the share of the window's rows in each (null before the window holds the
 * minimum), and their PSI.
 */
export const featureDriftViewSchema = z.object({
  name: z.string(),
  edges: z.array(z.number()),
  reference: z.array(z.number()),
  live: z.array(z.number()).nullable(),
  psi: z.number().nullable(),
});
export type FeatureDriftView = z.infer<typeof featureDriftViewSchema>;

/** GET /models/{name}/drift?version=: one version (default: every loaded one). */
export const driftQuerySchema = z
  .object({ version: z.coerce.number().int().positive().max(2_147_483_647).optional() })
  .strict();
export type DriftQuery = z.infer<typeof driftQuerySchema>;

/** GET /models/{name}/drift: each loaded version of the model that has a training reference. */
export const modelDriftViewSchema = z.object({
  model: z.string(),
  versions: z.array(
    z.object({
      version: z.number().int().positive(),
      /** Rows in the window now, the window's size and the rows it needs before PSI is computed. */
      windowRows: z.number().int().nonnegative(),
      windowSize: z.number().int().positive(),
      minRows: z.number().int().positive(),
      /** PSI above this announces drift (drift.detected); 0: no event. */
      threshold: z.number(),
      features: z.array(featureDriftViewSchema),
    }),
  ),
});
export type ModelDriftView = z.infer<typeof modelDriftViewSchema>;
