import { z } from 'zod';
import { modelVersionNumberSchema } from '../http/registry.dto';
import {
  datasetFeatureValues,
  featureCell,
  finiteNumber,
  isoTimestamp,
  nonEmptyName,
  sha256Hex,
  type FeatureCell,
} from './common';

/** The most records one predictions.logged message carries (the gateway flushes in batches of at most this). */
export const MAX_LOGGED_PREDICTIONS_PER_EVENT = 1000;
/** The most inputs (and classes) a logged row may carry: a dataset's columns. */
export const MAX_LOGGED_FEATURES = 10_000;
/** The latest time a JavaScript Date holds (ECMAScript's limit), so every logged time has an ISO form. */
const MAX_DATE_MS = 8_640_000_000_000_000;

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

/** One row of a logged group: its inputs in the group's feature order, the class (index into labels) or value. */
export const loggedRowSchema = z.object({
  predictionId: predictionIdSchema,
  inputs: z.array(featureCell).max(MAX_LOGGED_FEATURES),
  /** Classifier: the predicted class's index in the group's labels, and one probability per label. */
  class: z.number().int().nonnegative().optional(),
  probabilities: z.array(finiteNumber).max(MAX_LOGGED_FEATURES).optional(),
  /** Regressor: the predicted value. */
  value: finiteNumber.optional(),
  latencyMs: z.number().nonnegative().finite(),
  keyName: z.string().max(200).nullable(),
  /** When the prediction was made, in milliseconds since the epoch (at most the last time a Date can hold). */
  at: z.number().int().nonnegative().max(MAX_DATE_MS),
});
export type LoggedRow = z.infer<typeof loggedRowSchema>;

/**
 * The logged rows of one model version: what every row shares (model, version, sha256, test figures, the names of
 * the inputs and of the classes) is said once, so a busy gateway builds, checks and sends a few numbers per row.
 */
export const loggedGroupSchema = z
  .object({
    model: nonEmptyName,
    version: modelVersionNumberSchema,
    sha256: sha256Hex,
    /** The model version's registered test figures, which live quality is held to. */
    testMetrics: z.record(z.string(), finiteNumber).optional(),
    /** The names of the inputs, as the model read them (an image: its shape and mean intensities). */
    features: z.array(z.string().min(1).max(1000)).min(1).max(MAX_LOGGED_FEATURES),
    /** A classifier's classes, in the order of each row's probabilities; absent for a regressor. */
    labels: z.array(z.string().max(1000)).min(1).max(MAX_LOGGED_FEATURES).optional(),
    rows: z.array(loggedRowSchema).min(1).max(MAX_LOGGED_PREDICTIONS_PER_EVENT),
  })
  .superRefine((group, ctx) => {
    const problem = groupProblem(group);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
export type LoggedGroup = z.infer<typeof loggedGroupSchema>;

/** predictions.logged: a batch of sampled predictions from one gateway, for the data service's prediction log. */
export const predictionsLoggedSchema = z
  .object({ groups: z.array(loggedGroupSchema).min(1).max(MAX_LOGGED_PREDICTIONS_PER_EVENT) })
  .refine(
    (payload) =>
      payload.groups.reduce((sum, group) => sum + group.rows.length, 0) <= MAX_LOGGED_PREDICTIONS_PER_EVENT,
    `at most ${MAX_LOGGED_PREDICTIONS_PER_EVENT} rows in all groups of one event`,
  );
export type PredictionsLogged = z.infer<typeof predictionsLoggedSchema>;

/** Why a group's rows do not match its features and labels, or null. */
function groupProblem(group: Pick<LoggedGroup, 'features' | 'labels' | 'rows'>): string | null {
  const { features, labels, rows } = group;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row.inputs.length !== features.length)
      return `rows[${r}]: ${row.inputs.length} inputs for ${features.length} features`;
    if (labels === undefined) {
      if (row.value === undefined) return `rows[${r}]: a regressor's row needs a value`;
    } else if (row.class === undefined || row.class >= labels.length) {
      return `rows[${r}]: class must be an index into the ${labels.length} labels`;
    } else if (row.probabilities?.length !== labels.length) {
      return `rows[${r}]: probabilities must have one entry per label (${labels.length})`;
    }
  }
  return null;
}

/** The logged predictions of a predictions.logged payload, one record per row (what the data service stores). */
export function expandLoggedPredictions(payload: PredictionsLogged): LoggedPrediction[] {
  const records: LoggedPrediction[] = [];
  for (const { model, version, sha256, testMetrics, features, labels, rows } of payload.groups) {
    for (const row of rows) {
      const inputs: Record<string, FeatureCell> = {};
      for (let i = 0; i < features.length; i++) inputs[features[i]] = row.inputs[i];
      let output: LoggedPrediction['output'];
      if (labels === undefined) output = { value: row.value! };
      else {
        const probabilities: Record<string, number> = {};
        for (let c = 0; c < labels.length; c++) probabilities[labels[c]] = row.probabilities![c];
        output = { class: labels[row.class!], probabilities };
      }
      records.push({
        predictionId: row.predictionId,
        model,
        version,
        sha256,
        inputs,
        output,
        latencyMs: row.latencyMs,
        keyName: row.keyName,
        at: new Date(row.at).toISOString(),
        ...(testMetrics ? { testMetrics } : {}),
      });
    }
  }
  return records;
}

/**
 * The predictions.logged payload of `records` (at most MAX_LOGGED_PREDICTIONS_PER_EVENT): records of one model version
 * with the same input names and classes share a group. Throws when a record's class is not among its probabilities.
 */
export function groupLoggedPredictions(records: readonly LoggedPrediction[]): PredictionsLogged {
  const groups = new Map<string, LoggedGroup>();
  for (const record of records) {
    const features = Object.keys(record.inputs);
    const probabilities = 'class' in record.output ? record.output.probabilities : undefined;
    const labels = probabilities === undefined ? undefined : Object.keys(probabilities);
    const key = JSON.stringify([
      record.model,
      record.version,
      record.sha256,
      record.testMetrics,
      features,
      labels,
    ]);
    let group = groups.get(key);
    if (!group) {
      group = {
        model: record.model,
        version: record.version,
        sha256: record.sha256,
        ...(record.testMetrics ? { testMetrics: record.testMetrics } : {}),
        features,
        ...(labels ? { labels } : {}),
        rows: [],
      };
      groups.set(key, group);
    }
    const row: LoggedRow = {
      predictionId: record.predictionId,
      inputs: features.map((name) => (record.inputs as Record<string, FeatureCell>)[name]),
      latencyMs: record.latencyMs,
      keyName: record.keyName,
      at: Date.parse(record.at),
    };
    if ('class' in record.output) {
      const index = labels!.indexOf(record.output.class);
      if (index < 0)
        throw new Error(
          `predictionId ${record.predictionId}: class '${record.output.class}' has no probability`,
        );
      row.class = index;
      row.probabilities = labels!.map((label) => probabilities![label]);
    } else row.value = record.output.value;
    group.rows.push(row);
  }
  return { groups: [...groups.values()] };
}
