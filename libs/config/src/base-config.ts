import { z } from 'zod';
import { secretVar, urlVar } from './env-types';

/** Variables every Sepal app reads. Unset DATABASE_URL / AMQP_URL select the embedded adapters. */
export const baseConfigSchema = z.object({
  DATABASE_URL: urlVar(['postgres', 'postgresql']).optional(),
  AMQP_URL: urlVar(['amqp', 'amqps']).optional(),
  SEPAL_HOME: z.string().default('.sepal'),
  SEPAL_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, _ and - only')
    .optional(),
  /**
   * The bootstrap admin key, and the key this app sends when it calls the others. Setting it turns key checking on;
   * more keys, with scopes, are made with `sepal keys create`.
   */
  SEPAL_API_KEY: secretVar().optional(),
  /** The name the audit log records for SEPAL_API_KEY. */
  SEPAL_API_KEY_NAME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ., _ and - only (max 63)')
    .default('admin'),
  /** Interface every app listens on unless its own <APP>_HOST says otherwise: loopback by default. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** true: serve beyond loopback without keys (every caller is admin). Logged as a warning at start. */
  SEPAL_INSECURE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * Host names (comma-separated, no port) a keyless app answers besides loopback (localhost, 127.0.0.0/8, [::1]); `*`
   * answers any. Keys off means this machine only: another Host is refused (421), which stops DNS rebinding.
   */
  SEPAL_ALLOWED_HOSTS: z
    .string()
    .regex(/^(\*|[a-z0-9.-]+)(\s*,\s*(\*|[a-z0-9.-]+))*$/i, 'comma-separated host names (no port), or *')
    .optional(),
  /** Largest request body a route parses unless it has its own limit (413 beyond): 1 MiB. */
  HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(1024 * 1024),
  /** How long an app trusts a verified key before asking again: the bound on how late a revocation takes effect. */
  SEPAL_KEY_CACHE_MS: z.coerce.number().int().min(0).max(5_000).default(4_000),
  /**
   * Failed API-key checks (an unknown or revoked key) each caller address may make per minute, and at once: beyond,
   * 429 with Retry-After before any check. Each check costs a scrypt, so guessing keys cannot load the machine.
   */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
  AUTH_FAILURE_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Longest a request may take, body upload included, before the connection is answered 408 / closed. */
  SEPAL_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type BaseConfig = z.output<typeof baseConfigSchema>;
