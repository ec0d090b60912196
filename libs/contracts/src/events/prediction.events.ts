import { z } from 'zod';
import { modelVersionNumberSchema } from '../http/registry.dto';
import {
  datasetFeatureValues,
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

const rowCount = MAX_LOGGED_PREDICTIONS_PER_EVENT;
/** The most cells of a flat per-row matrix (inputs, probabilities): every row at the most features. */
const MAX_LOGGED_CELLS = MAX_LOGGED_PREDICTIONS_PER_EVENT * MAX_LOGGED_FEATURES;
/** The pattern predictionIdSchema (`z.string().uuid()`) checks, for the ids column's one loop. */
const UUID = z.regexes.uuid();

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const isCell = (value: unknown): value is FeatureCell =>
  value === null || isFiniteNumber(value) || (typeof value === 'string' && value.length <= 1000);
const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * A column of a logged group, its entries checked in one loop: a zod schema per entry costs about 100 ns, over a
 * microsecond per logged row, on the gateway (which checks what it publishes) and again in the data service. The
 * issue names the first bad entry by its index.
 */
function column<T>(what: string, isEntry: (value: unknown) => value is T, min: number, max: number) {
  return z
    .custom<T[]>((value) => Array.isArray(value), { message: 'must be an array' })
    .superRefine((values, ctx) => {
      if (values.length < min || values.length > max) {
        ctx.addIssue({ code: 'custom', message: `must have ${min} to ${max} entries, not ${values.length}` });
        return;
      }
      for (let i = 0; i < values.length; i++) {
        if (!isEntry(values[i])) {
          ctx.addIssue({ code: 'custom', path: [i], message: `must be ${what}` });
          return;
        }
      }
    });
}

/**
 * The logged rows of one model version, column by column: what every row shares (model, version, sha256, test
 * figures, the names of the inputs and of the classes) is said once, then each field is one array with an entry per
 * row (inputs and probabilities flat, row after row). A busy gateway builds, checks and sends a few arrays of numbers
 * per event instead of an object per row.
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
    /** One per row: the row's prediction id. */
    predictionIds: column('a UUID', (v): v is string => typeof v === 'string' && UUID.test(v), 1, rowCount),
    /** Row after row, each row's inputs in the order of `features` (null: missing). */
    inputs: column(
      'a finite number, a string of at most 1000 characters or null',
      isCell,
      0,
      MAX_LOGGED_CELLS,
    ),
    /** Classifier, one per row: the predicted class's index in `labels`. */
    classes: column('a class index (an integer from 0)', isIndex, 0, rowCount).optional(),
    /** Classifier, row after row: one probability per label. */
    probabilities: column('a finite number', isFiniteNumber, 0, MAX_LOGGED_CELLS).optional(),
    /** Regressor, one per row: the predicted value. */
    values: column('a finite number', isFiniteNumber, 0, rowCount).optional(),
    /** One per row: the time to answer its request, in milliseconds. */
    latencyMs: column('a finite number from 0', (v): v is number => isFiniteNumber(v) && v >= 0, 0, rowCount),
    /** One per row: the API key's name; null without keys. */
    keyNames: column(
      'a key name of at most 200 characters or null',
      (v): v is string | null => v === null || (typeof v === 'string' && v.length <= 200),
      0,
      rowCount,
    ),
    /** One per row: when it was predicted, in milliseconds since the epoch (at most the last time a Date holds). */
    at: column(
      `a time in milliseconds from 0 to ${MAX_DATE_MS}`,
      (v): v is number => isIndex(v) && v <= MAX_DATE_MS,
      0,
      rowCount,
    ),
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
      payload.groups.reduce((sum, group) => sum + group.predictionIds.length, 0) <=
      MAX_LOGGED_PREDICTIONS_PER_EVENT,
    `at most ${MAX_LOGGED_PREDICTIONS_PER_EVENT} rows in all groups of one event`,
  );
export type PredictionsLogged = z.infer<typeof predictionsLoggedSchema>;

/** Why a group's columns do not fit together (one entry per row, one cell per feature or label), or null. */
function groupProblem(group: LoggedGroup): string | null {
  const { features, labels, predictionIds } = group;
  const rows = predictionIds.length;
  const perRow = (name: string, length: number, width = 1): string | null =>
    length === rows * width
      ? null
      : `${name}: ${length} entries for ${rows} rows${width === 1 ? '' : ` of ${width}`} (one per row${width === 1 ? '' : ' and column'})`;
  const problem =
    perRow('inputs', group.inputs.length, features.length) ??
    perRow('latencyMs', group.latencyMs.length) ??
    perRow('keyNames', group.keyNames.length) ??
    perRow('at', group.at.length);
  if (problem !== null) return problem;
  if (labels === undefined) {
    if (group.values === undefined) return "values: a regressor's group needs one value per row";
    if (group.classes !== undefined || group.probabilities !== undefined)
      return 'classes, probabilities: a regressor (no labels) has values only';
    return perRow('values', group.values.length);
  }
  if (group.classes === undefined || group.probabilities === undefined)
    return "classes, probabilities: a classifier's group needs both";
  if (group.values !== undefined) return 'values: a classifier (labels) has classes and probabilities only';
  const shape =
    perRow('classes', group.classes.length) ??
    perRow('probabilities', group.probabilities.length, labels.length);
  if (shape !== null) return shape;
  const wrong = group.classes.findIndex((c) => c >= labels.length);
  return wrong < 0
    ? null
    : `classes[${wrong}]: ${group.classes[wrong]} is not an index into the ${labels.length} labels`;
}

/** The logged predictions of a predictions.logged payload, one record per row (what the data service stores). */
export function expandLoggedPredictions(payload: PredictionsLogged): LoggedPrediction[] {
  const records: LoggedPrediction[] = [];
  for (const group of payload.groups) {
    const { model, version, sha256, testMetrics, features, labels } = group;
    const width = features.length;
    for (let r = 0; r < group.predictionIds.length; r++) {
      const inputs: Record<string, FeatureCell> = {};
      for (let i = 0; i < width; i++) inputs[features[i]] = group.inputs[r * width + i];
      let output: LoggedPrediction['output'];
      if (labels === undefined) output = { value: group.values![r] };
      else {
        const probabilities: Record<string, number> = {};
        for (let c = 0; c < labels.length; c++)
          probabilities[labels[c]] = group.probabilities![r * labels.length + c];
        output = { class: labels[group.classes![r]], probabilities };
      }
      records.push({
        predictionId: group.predictionIds[r],
        model,
        version,
        sha256,
        inputs,
        output,
        latencyMs: group.latencyMs[r],
        keyName: group.keyNames[r],
        at: new Date(group.at[r]).toISOString(),
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
        ...(labels ? { labels, classes: [], probabilities: [] } : { values: [] }),
        predictionIds: [],
        inputs: [],
        latencyMs: [],
        keyNames: [],
        at: [],
      };
      groups.set(key, group);
    }
    group.predictionIds.push(record.predictionId);
    for (const name of features) group.inputs.push((record.inputs as Record<string, FeatureCell>)[name]);
    group.latencyMs.push(record.latencyMs);
    group.keyNames.push(record.keyName);
    group.at.push(Date.parse(record.at));
    if ('class' in record.output) {
      const index = labels!.indexOf(record.output.class);
      if (index < 0)
        throw new Error(
          `predictionId ${record.predictionId}: class '${record.output.class}' has no probability`,
        );
      group.classes!.push(index);
      for (const label of labels!) group.probabilities!.push(probabilities![label]);
    } else group.values!.push(record.output.value);
  }
  return { groups: [...groups.values()] };
}
