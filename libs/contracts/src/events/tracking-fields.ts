import { z } from 'zod';
import { finiteNumber } from './common';

/**
 * The fields a run is tracked with (tags, params, metrics), one definition for the registry's REST API and for the
 * trainer's events it consumes (training.started, training.progress, run.finished): what a client may send over HTTP,
 * an event may carry too, and no more. How many tags and params a run keeps is the registry's setting
 * (REGISTRY_MAX_TAGS, REGISTRY_MAX_PARAMS); an event is only bounded here by the most those settings accept.
 */
export const MAX_TAG_KEY_LENGTH = 250;
export const MAX_TAG_VALUE_LENGTH = 5000;
export const MAX_PARAM_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 5000;
export const MAX_METRIC_KEY_LENGTH = 250;
/** Metric points in one POST /runs/:id/metrics, metric keys in one training.progress or run.finished. */
export const MAX_METRICS_PER_BATCH = 10_000;
/** Tags or params in one event: the most REGISTRY_MAX_TAGS and REGISTRY_MAX_PARAMS accept (the registry checks its own). */
export const MAX_EVENT_ENTRIES = 100_000;

export const tagKey = z.string().min(1).max(MAX_TAG_KEY_LENGTH);
export const tagValue = z.string().max(MAX_TAG_VALUE_LENGTH);
/** Tags of an experiment, a run or a model; their count is checked against REGISTRY_MAX_TAGS by the registry. */
export const tagsSchema = z.record(tagKey, tagValue);

export const paramKey = z.string().min(1).max(MAX_PARAM_KEY_LENGTH);
export const runParamValue = z.union([z.number(), z.string().max(MAX_PARAM_VALUE_LENGTH), z.boolean()]);
/** Params of a run; their count is checked against REGISTRY_MAX_PARAMS by the registry. */
export const runParamsSchema = z.record(paramKey, runParamValue);

export const metricKey = z.string().min(1).max(MAX_METRIC_KEY_LENGTH);

/** A record with at most `max` keys; zod's message names the field's limit. */
export function atMostEntries<T extends z.ZodType<Record<string, unknown>>>(record: T, max: number) {
  return record.superRefine((value, ctx) => {
    const count = Object.keys(value).length;
    if (count > max) ctx.addIssue({ code: 'custom', message: `${count} entries, at most ${max}` });
  });
}

/** Tags, params and metrics of one training event (the per-entry bounds of REST, and a count). */
export const eventTagsSchema = atMostEntries(tagsSchema, MAX_EVENT_ENTRIES);
export const eventParamsSchema = atMostEntries(runParamsSchema, MAX_EVENT_ENTRIES);
export const eventMetricsSchema = atMostEntries(z.record(metricKey, finiteNumber), MAX_METRICS_PER_BATCH);
