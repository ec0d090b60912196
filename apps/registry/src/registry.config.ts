import { z } from 'zod';
import { baseConfigSchema, loadConfig, portVar, secretVar } from '@sepal/config';
import { scopeSchema } from '@sepal/contracts';

const serviceKey = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/),
  scopes: z.array(scopeSchema).min(1),
  secret: secretVar(),
});

/**
 * SEPAL_SERVICE_KEYS: each app's own key, `name=scope,scope:secret` separated by spaces, stored at start like
 * SEPAL_API_KEY (e.g. `svc-trainer=read,train,promote:<secret>`). Errors name the entry, never its secret.
 */
const serviceKeysVar = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const keys: z.output<typeof serviceKey>[] = [];
    for (const [index, entry] of (text ?? '').split(/\s+/).filter(Boolean).entries()) {
      const match = /^([^=]+)=([^:]+):(.+)$/.exec(entry);
      const parsed = match
        ? serviceKey.safeParse({ name: match[1], scopes: match[2].split(','), secret: match[3] })
        : undefined;
      if (!parsed?.success) {
        const rule = parsed?.error.issues[0];
        ctx.addIssue({
          code: 'custom',
          message:
            `entry ${index + 1}${match ? ` (${match[1]})` : ''}: ` +
            (rule ? `${rule.path.join('.')} ${rule.message}` : 'must be name=scope,scope:secret'),
        });
        return z.NEVER;
      }
      keys.push(parsed.data);
    }
    return keys;
  });

export const registryConfigSchema = baseConfigSchema.extend({
  REGISTRY_PORT: portVar(3002),
  /** Each app's own key as `name=scope,scope:secret`, space-separated, stored at start like SEPAL_API_KEY. */
  SEPAL_SERVICE_KEYS: serviceKeysVar,
  /** Overrides HOST for this app. */
  REGISTRY_HOST: z.string().min(1).optional(),
  /** Root of the content-addressed artifact store. */
  MODELS_DIR: z.string().default('models'),
  /** Base of the absolute artifact URLs announced in model.promoted. */
  REGISTRY_PUBLIC_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:3002')
    .transform((url) => url.replace(/\/+$/, '')),
  REGISTRY_MAX_ARTIFACT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  /** Most nodes an uploaded ONNX model may have in all its graphs (422 naming this beyond). */
  REGISTRY_ONNX_MAX_NODES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Artifact uploads received at once (each streams to disk while hashed): 429 naming this beyond. */
  REGISTRY_MAX_CONCURRENT_UPLOADS: z.coerce.number().int().min(1).max(1_000).default(4),
  /** Most tags an experiment, a run (after its updates are merged) or a model may carry: 400 naming this beyond. */
  REGISTRY_MAX_TAGS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Most params a run may carry: 400 naming this beyond. */
  REGISTRY_MAX_PARAMS: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Largest CSV a client may upload to POST /batch-jobs: 413 naming this beyond, nothing stored. */
  REGISTRY_BATCH_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  /** Most data rows an uploaded batch CSV may have: 413 naming this beyond, nothing stored. */
  REGISTRY_BATCH_MAX_ROWS: z.coerce.number().int().positive().default(5_000_000),
  /** Largest output CSV a trainer may store for a batch job (input rows plus predictions): 413 naming this beyond. */
  REGISTRY_BATCH_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024 * 1024),
  /** How often the last-used times of keys are written (one statement per batch, not one per request). */
  REGISTRY_KEY_USAGE_FLUSH_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** How often the outbox relay looks for unpublished events. */
  REGISTRY_OUTBOX_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  /** How long a publish waits for the broker's confirm before the relay retries on its next round. */
  REGISTRY_PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

export type RegistryConfigValues = z.output<typeof registryConfigSchema>;

/** The registry's configuration, read and validated once at start; inject it by this class. */
export abstract class RegistryConfig {
  static load(env: NodeJS.ProcessEnv = process.env): RegistryConfigValues {
    return loadConfig(registryConfigSchema, env);
  }
}
