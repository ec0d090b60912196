import { z } from 'zod';
import { modelVersionNumberSchema } from '../http/registry.dto';
import { datasetFeatureValues, finiteNumber, isoTimestamp, nonEmptyName, sha256Hex } from './common';

/** The most records one predictions.logged message carries (the gateway flushes in batches of at most this). */
export const MAX_LOGGED_PREDICTIONS_PER_EVENT = 1000;

/** A prediction id: a UUID (the gateway makes UUIDv7s). */
export const predictionIdSchema = z.string().uuid();

/** One logged prediction: what went in, what came out, from which model, for whom and how fast. */
export const loggedPredictionSchema = z.object({
  predictionId: predictionIdSchema,
  model: nonEmptyName,
  version: modelVersionNumberSchema,
  sha256: sha256Hex,
  /** The row's features by name, as the model read them (null: missing). */
  inputs: datasetFeatureValues,
  /** The predicted class (classifier) or value (regressor). */
  output: z.union([
    z.object({
      class: z.string().max(1000),
      probabilities: z.record(z.string(), finiteNumber),
    }),
    z.object({ value: finiteNumber }),
  ]),
  /** Time to answer the request this row was part of, in milliseconds. */
  latencyMs: z.number().nonnegative().finite(),
  /** The API key's name; null without keys. */
  keyName: z.string().max(200).nullable(),
  /** When the prediction was made. */
  at: isoTimestamp,
  /** The model version's registered test figures (accuracy, macro_f1, rmse, mae...), which live quality is held to. */
  testMetrics: z.record(z.string(), finiteNumber).optional(),
});
export type LoggedPrediction = z.infer<typeof loggedPredictionSchema>;

/** predictions.logged: a batch of sampled predictions from one gateway, for the data service's prediction log. */
export const predictionsLoggedSchema = z.object({
  records: z.array(loggedPredictionSchema).min(1).max(MAX_LOGGED_PREDICTIONS_PER_EVENT),
});
export type PredictionsLogged = z.infer<typeof predictionsLoggedSchema>;
