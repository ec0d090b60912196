import { z } from 'zod';
import { isoTimestamp, nonEmptyName, sha256Hex } from '../events/common';
import { MAX_MODEL_VERSION } from '../http/registry.dto';

/** At most this many versions share one model's traffic (the champion included). */
export const MAX_TRAFFIC_VERSIONS = 10;

const versionKey = z.string().regex(/^[1-9][0-9]{0,8}$/, 'a version number');

/**
 * PUT /models/:name/traffic: how a model's requests are split between its versions, by integer weights summing to
 * 100 (e.g. `{"3": 90, "4": 10}`), and optionally a shadow version that scores the same rows off the response path.
 * `{"weights": {"<champion>": 100}}` with no shadow ends a canary.
 */
export const setTrafficRequestSchema = z
  .object({
    weights: z
      .record(versionKey, z.number().int().min(0).max(100))
      .refine((weights) => Object.keys(weights).length >= 1, 'name at least one version')
      .refine(
        (weights) => Object.keys(weights).length <= MAX_TRAFFIC_VERSIONS,
        `at most ${MAX_TRAFFIC_VERSIONS} versions (MAX_TRAFFIC_VERSIONS)`,
      )
      .superRefine((weights, ctx) => {
        const sum = Object.values(weights).reduce((total: number, weight: number) => total + weight, 0);
        if (sum !== 100)
          ctx.addIssue({ code: 'custom', message: `the weights must sum to 100 (they sum to ${sum})` });
      }),
    // Bounded like every version number (PostgreSQL's integer): beyond it the lookup failed as a 500.
    shadow: z
      .number()
      .int('must be a whole number')
      .positive('must be 1 or more')
      .max(MAX_MODEL_VERSION, `must be at most ${MAX_MODEL_VERSION}`)
      .nullable()
      .optional(),
    reason: z.string().max(2000).optional(),
    // No `by`: the audit records the calling key's name (as for alias moves).
  })
  .strict();
export type SetTrafficRequest = z.infer<typeof setTrafficRequestSchema>;

/** One version taking part in a split, with what a gateway needs to load it. */
export const trafficVersionSchema = z.object({
  version: z.number().int().positive(),
  sha256: sha256Hex,
  artifactUrl: z.string().min(1),
});
export type TrafficVersion = z.infer<typeof trafficVersionSchema>;

/** GET /models/:name/traffic and the model.traffic event: the split in force. */
export const trafficSplitSchema = z.object({
  modelName: nonEmptyName,
  weights: z.array(trafficVersionSchema.extend({ weight: z.number().int().min(0).max(100) })),
  shadow: trafficVersionSchema.nullable(),
  reason: z.string().max(2000),
  changedBy: z.string().max(200),
  changedAt: isoTimestamp,
  /**
   * Raised by the registry on every change of this model's split: a gateway applies a split whose revision differs
   * from the one it holds, as read from the registry (an event only says that something changed).
   */
  revision: z.number().int().positive(),
});
export type TrafficSplit = z.infer<typeof trafficSplitSchema>;
