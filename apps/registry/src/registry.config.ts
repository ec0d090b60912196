import { z } from 'zod';
import { baseConfigSchema, loadConfig, portVar } from '@sepal/config';

export const registryConfigSchema = baseConfigSchema.extend({
  REGISTRY_PORT: portVar(3002),
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
  /** Artifact uploads received at once (each streams to disk while hashed): 429 naming this beyond. */
  REGISTRY_MAX_CONCURRENT_UPLOADS: z.coerce.number().int().min(1).max(1_000).default(4),
  /** Most tags an experiment, a run (after its updates are merged) or a model may carry: 400 naming this beyond. */
  REGISTRY_MAX_TAGS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Most params a run may carry: 400 naming this beyond. */
  REGISTRY_MAX_PARAMS: z.coerce.number().int().min(1).max(100_000).default(500),
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
