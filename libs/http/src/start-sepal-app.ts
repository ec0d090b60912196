import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { BaseConfig } from '@sepal/config';
import { EventTransport } from '@sepal/messaging';
import { JsonLogger } from '@sepal/observability';
import {
  CachedKeyVerifier,
  checkListenPolicy,
  FailedKeyChecks,
  KeyVerifier,
  RegistryKeyVerifier,
} from './auth';
import { createHttpApp } from './create-http-app';
import { parseAllowedHosts } from './edge/local-only';
import { stopConsumingOnShutdown } from './graceful-shutdown';

export interface SepalAppOptions {
  service: string;
  title: string;
  description: string;
  config: BaseConfig;
  port: number;
  host: string;
  bodyLimitBytes?: number;
  /** Where keys are checked: the registry's URL (every app but the registry), or `keyVerifier`. */
  registryUrl?: string;
  /**
   * The registry checks keys against its own store (and caches them itself); the gateway passes the cached verifier
   * its lean path reads (keyVerifierFor). Default: keyVerifierFor(config, registryUrl).
   */
  keyVerifier?: (app: NestFastifyApplication) => KeyVerifier;
  /** What key checks may cost (the registry shares its limits with POST /keys/verify); default: from `config`. */
  keyChecks?: (app: NestFastifyApplication) => FailedKeyChecks;
  /** Fastify set-up the app needs before it starts (content-type parsers, body error handling). */
  configureFastify?: (fastify: FastifyInstance) => void;
  /** Fastify's serverFactory (see createHttpApp). */
  serverFactory?: Parameters<typeof createHttpApp>[1]['serverFactory'];
  /** false: initialise without listening (tests drive it with fastify.inject). */
  listen?: boolean;
}

/**
 * How an app other than the registry checks keys: the registry over POST /keys/verify (sending this app's own key, a
 * service identity), each answer cached for SEPAL_KEY_CACHE_MS.
 */
export function keyVerifierFor(config: BaseConfig, registryUrl = 'http://127.0.0.1:3002'): CachedKeyVerifier {
  return new CachedKeyVerifier(
    new RegistryKeyVerifier(registryUrl, config.SEPAL_API_KEY),
    config.SEPAL_KEY_CACHE_MS,
  );
}

/** Starts a Sepal app: its HTTP API on Fastify and its event consumers on the bus, with structured logs. */
export async function startSepalApp(
  rootModule: Parameters<typeof createHttpApp>[0],
  options: SepalAppOptions,
): Promise<NestFastifyApplication> {
  const { config } = options;
  const keysConfigured = Boolean(config.SEPAL_API_KEY);
  const warning = checkListenPolicy({
    service: options.service,
    host: options.host,
    keysConfigured,
    insecure: config.SEPAL_INSECURE,
  });
  const logger = new JsonLogger({
    service: options.service,
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  if (warning) logger.warn(warning, 'Auth');
  else if (!keysConfigured) {
    logger.log(`keys are off (no SEPAL_API_KEY): only this machine can reach ${options.host}`, 'Auth');
  }
  const app = await createHttpApp(rootModule, {
    title: options.title,
    description: options.description,
    logger,
    auth: {
      enabled: keysConfigured,
      verifier: (nest) => options.keyVerifier?.(nest) ?? keyVerifierFor(config, options.registryUrl),
      failures: (nest) => options.keyChecks?.(nest) ?? new FailedKeyChecks(config),
      allowedHosts: parseAllowedHosts(config.SEPAL_ALLOWED_HOSTS),
    },
    trustedProxies: config.SEPAL_TRUSTED_PROXIES,
    bodyLimitBytes: options.bodyLimitBytes ?? config.HTTP_BODY_LIMIT_BYTES,
    serverFactory: options.serverFactory,
    requestTimeoutMs: config.SEPAL_REQUEST_TIMEOUT_MS,
  });
  try {
    options.configureFastify?.(app.getHttpAdapter().getInstance());
    const transport = app.get(EventTransport);
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
    stopConsumingOnShutdown(app, transport);
    await app.startAllMicroservices();
    if (options.listen !== false) await app.listen(options.port, options.host);
    else await app.init();
  } catch (error) {
    // A start refused half-way (a revoked bootstrap key, a port taken) must not leave what did start running: the
    // outbox relay, consumers and timers would go on against a database the caller is about to drop or fix.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
