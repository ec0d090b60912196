import { z } from 'zod';
import { baseConfigSchema, loadConfig, portVar } from '@sepal/config';

const serviceUrl = (fallback: string) =>
  z
    .string()
    .url()
    .refine((value) => /^https?:/.test(value), { message: 'must start with http:// or https://' })
    .default(fallback)
    .transform((value) => value.replace(/\/+$/, ''));

/**
 * HOST / SEPAL_API_KEY / SEPAL_INSECURE as every app reads them: the console forwards the caller's key, never its own,
 * to the services; it sends SEPAL_API_KEY only to the registry, to check a caller's key before reading a body. Like
 * the others it refuses to listen beyond loopback when the deployment has no keys, since its proxy would open the
 * services to the network.
 */
export const consoleConfigSchema = baseConfigSchema
  .pick({
    HOST: true,
    SEPAL_API_KEY: true,
    SEPAL_INSECURE: true,
    SEPAL_ALLOWED_HOSTS: true,
    SEPAL_KEY_CACHE_MS: true,
    AUTH_FAILURES_PER_MINUTE: true,
    AUTH_FAILURE_BURST: true,
    AUTH_CHECKS_IN_FLIGHT: true,
    AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS: true,
    LOG_LEVEL: true,
    LOG_FORMAT: true,
    SHUTDOWN_DELAY_MS: true,
    SHUTDOWN_GRACE_MS: true,
  })
  .extend({
    CONSOLE_PORT: portVar(8080),
    /** Overrides HOST for the console. */
    CONSOLE_HOST: z.string().min(1).optional(),
    /** Where the services are: the console proxies /api/<service>/* to them, so the browser needs one origin. */
    DATA_URL: serviceUrl('http://127.0.0.1:3001'),
    REGISTRY_URL: serviceUrl('http://127.0.0.1:3002'),
    TRAINER_URL: serviceUrl('http://127.0.0.1:3003'),
    INFERENCE_URL: serviceUrl('http://127.0.0.1:3000'),
    /**
     * Largest request body the proxy forwards, counted as it streams through (a CSV upload is the big one); the
     * service behind applies its own limit too (DATA_MAX_IMPORT_BYTES for a CSV import).
     */
    CONSOLE_MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(1024 * 1024 * 1024)
      .default(50 * 1024 * 1024),
    /** Time limit of one proxied call, answer included. */
    CONSOLE_PROXY_TIMEOUT_MS: z.coerce.number().int().positive().max(600_000).default(60_000),
    /** Period of the gateway /metrics sampling behind the overview's traffic figures (the embedded mode has no Prometheus). */
    CONSOLE_METRICS_INTERVAL_MS: z.coerce.number().int().min(250).max(600_000).default(5_000),
    /** How far back the sampled traffic reaches (the overview shows the last hour). */
    CONSOLE_METRICS_WINDOW_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
    /** Period at which a job stream (server-sent events) asks the registry for changes. */
    CONSOLE_JOBS_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
    /** Open job streams at most (each polls the registry). */
    CONSOLE_MAX_STREAMS: z.coerce.number().int().positive().max(10_000).default(100),
    /** The built single-page app (index.html and assets/); unset: the build's dist/apps/console/web. */
    CONSOLE_WEB_DIR: z.string().min(1).optional(),
  });

export type ConsoleConfigValues = z.output<typeof consoleConfigSchema>;

/** The console's configuration, read and validated once at start; inject it by this class. */
export abstract class ConsoleConfig {
  static load(env: NodeJS.ProcessEnv = process.env): ConsoleConfigValues {
    return loadConfig(consoleConfigSchema, env);
  }
}

export const SERVICES = ['data', 'registry', 'trainer', 'inference'] as const;
export type ServiceName = (typeof SERVICES)[number];

export function serviceUrls(config: ConsoleConfigValues): Record<ServiceName, string> {
  return {
    data: config.DATA_URL,
    registry: config.REGISTRY_URL,
    trainer: config.TRAINER_URL,
    inference: config.INFERENCE_URL,
  };
}
