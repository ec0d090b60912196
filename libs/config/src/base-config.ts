import { z } from 'zod';
import { urlVar } from './env-types';

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
  SEPAL_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
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
  /**
   * On SIGTERM an app answers /health/ready 503 and stops consuming at once, but serves HTTP for this long before it
   * stops accepting connections: the time a load balancer (Kubernetes' endpoints) takes to stop sending it requests.
   */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /**
   * The longest a stop may take from SIGTERM: requests still in flight (and their connections) are cut then, and the
   * app closes. Keep it below the supervisor's own limit (Kubernetes: terminationGracePeriodSeconds).
   */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(25_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type BaseConfig = z.output<typeof baseConfigSchema>;
