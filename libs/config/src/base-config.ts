import { z } from 'zod';
import { isProducerApp, PRODUCER_APPS } from '@sepal/contracts';
import { booleanVar, secretVar, urlVar } from './env-types';

/**
 * AMQP_PRODUCERS, `app=user,...` (e.g. `registry=sepal_registry,trainer=sepal_trainer`): which broker user publishes
 * as which app, for the owner check of every event a consumer receives. Parsed to user → app.
 */
export const producersVar = z
  .string()
  .trim()
  .min(1)
  .transform((text, context) => {
    const producers: Record<string, string> = {};
    for (const entry of text.split(',').map((part) => part.trim())) {
      const match = /^([a-z]+)=(\S+)$/.exec(entry);
      if (!match || !isProducerApp(match[1])) {
        context.addIssue({
          code: z.ZodIssueCode.custom,
          message: `'${entry}' is not app=user with app one of ${PRODUCER_APPS.join(', ')}`,
        });
        return z.NEVER;
      }
      const [, app, user] = match;
      if (Object.hasOwn(producers, user) && producers[user] !== app) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: `user '${user}' is given to two apps` });
        return z.NEVER;
      }
      producers[user] = app;
    }
    return producers;
  });

/** Variables every Sepal app reads. Unset DATABASE_URL / AMQP_URL select the embedded adapters. */
export const baseConfigSchema = z.object({
  DATABASE_URL: urlVar(['postgres', 'postgresql']).optional(),
  AMQP_URL: urlVar(['amqp', 'amqps']).optional(),
  /** Default: each app's user is sepal_<app>, as scripts/provision creates them (docs/messaging.md). */
  AMQP_PRODUCERS: producersVar.optional(),
  /** Work queues are quorum queues with a delivery limit (RabbitMQ only; the in-process bus has no queue types). */
  AMQP_QUORUM_QUEUES: booleanVar(true),
  /** Deliveries of one message by a quorum work queue before the broker dead-letters it as poison. */
  AMQP_DELIVERY_LIMIT: z.coerce.number().int().min(1).max(1000).default(10),
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
  /**
   * Key checks (a scrypt on the registry, a registry call elsewhere) this app runs at once, in all and per caller
   * address: beyond either, a key not already known is answered 429 at once instead of queueing (keys already checked
   * are answered from the cache and never wait for a slot).
   */
  AUTH_CHECKS_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
  /** Key checks one caller address may have running at once (429 naming this beyond); cached keys need no slot. */
  AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS: z.coerce.number().int().min(1).max(10_000).default(4),
  /**
   * Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR ranges, e.g. the console's
   * `127.0.0.1`): a request from one of them is limited by the client address it forwards. Unset: the header is
   * ignored and every request is its socket's address.
   */
  SEPAL_TRUSTED_PROXIES: z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      const list = (value ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      const bad = list.filter((entry) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(entry));
      if (bad.length) {
        ctx.addIssue({
          code: 'custom',
          message: 'comma-separated IP addresses or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8)',
        });
        return z.NEVER;
      }
      return list;
    }),
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

/** The broker settings of an app's MessagingModule, from its configuration (add the app's serviceName). */
export function brokerSettings(config: BaseConfig) {
  return {
    amqpUrl: config.AMQP_URL,
    namespace: config.SEPAL_NAMESPACE,
    producers: config.AMQP_PRODUCERS,
    quorumQueues: config.AMQP_QUORUM_QUEUES,
    deliveryLimit: config.AMQP_DELIVERY_LIMIT,
  };
}
