import { LoggerService } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';
import { AppMetricsRegistry, installHttpMetrics } from '@sepal/observability';
import { FailedKeyChecks, KeyVerifier, recordRoutes, ScopeGuard } from './auth';
import { DomainExceptionFilter } from './domain-exception.filter';
import { installRequestEdge, nestRouteLookup } from './edge/request-edge';
import { refuseUnstorableCharacters } from './refuse-unstorable-characters';
import { serveSwaggerUi } from './swagger-ui';

export interface HttpAppOptions {
  title: string;
  description: string;
  logger: LoggerService;
  auth: {
    /** false: no keys configured (loopback or SEPAL_INSECURE): every caller is the anonymous admin. */
    enabled: boolean;
    /** Who checks a key: the registry's own store in the registry, the registry over HTTP (cached) elsewhere. */
    verifier: (app: NestFastifyApplication) => KeyVerifier;
    /** What key checks may cost per caller address (429 beyond); none: unlimited. */
    failures?: (app: NestFastifyApplication) => FailedKeyChecks;
    /** SEPAL_ALLOWED_HOSTS: host names besides loopback a keyless app answers (see localOnlyRefusal). */
    allowedHosts?: readonly string[];
  };
  /**
   * Proxies whose X-Forwarded-For sets `request.ip` (addresses or CIDR ranges, SEPAL_TRUSTED_PROXIES); empty: the
   * header is ignored.
   */
  trustedProxies?: string[];
  /** Largest request body a route parses (Fastify answers 413 beyond it); default 1 MiB (HTTP_BODY_LIMIT_BYTES). */
  bodyLimitBytes?: number;
  /** Fastify's serverFactory: the node:http server Fastify runs on (e.g. with a lean path for hot routes). */
  serverFactory?: FastifyServerOptions['serverFactory'];
  /** Longest a request may take to arrive (Node answers 408 beyond it); default 120 s. */
  requestTimeoutMs?: number;
}

/**
 * How long a Sepal server keeps an idle connection open (Fastify's default, stated). Node's fetch, which every
 * ServiceClient uses, reads it from the `Keep-Alive: timeout=72` header and drops its idle sockets one second (undici's keepAliveTimeoutThreshold)
 * earlier, so a client never reuses a socket the server is closing; the race that remains (a close crossing a request
 * on the wire) is met by the client's one retry of an idempotent call.
 */
export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * A Sepal HTTP app: Fastify with body and time limits, JSON errors, the key (or, keyless, the this-machine-only rules)
 * checked before the body is read, the scope guard, HTTP metrics and OpenAPI docs at /docs.
 */
export async function createHttpApp(
  rootModule: Parameters<typeof NestFactory.create>[0],
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    requestTimeout: options.requestTimeoutMs ?? 120_000,
    keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS,
    ...(options.trustedProxies?.length ? { trustProxy: options.trustedProxies } : {}),
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: options.logger,
    abortOnError: false,
  });
  recordRoutes(app.getHttpAdapter().getInstance());
  installHttpMetrics(app.getHttpAdapter().getInstance(), appMetrics(app).http);
  refuseUnstorableCharacters(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new DomainExceptionFilter());
  const guard = new ScopeGuard(app.get(Reflector), {
    enabled: options.auth.enabled,
    verifier: options.auth.verifier(app),
    failures: options.auth.failures?.(app),
  });
  app.useGlobalGuards(guard);
  installRequestEdge(app.getHttpAdapter().getInstance(), {
    keysEnabled: options.auth.enabled,
    allowedHosts: options.auth.allowedHosts ?? [],
    guard,
    routeOf: nestRouteLookup(app),
  });
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(options.title)
      .setDescription(options.description)
      .setVersion('0.1.0')
      .addApiKey({ type: 'apiKey', name: 'X-API-Key', in: 'header' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { ui: false, raw: ['json'], jsonDocumentUrl: 'docs/json' });
  serveSwaggerUi(app.getHttpAdapter().getInstance(), options.title);
  return app;
}

/** The app's metrics (its `/metrics`); an app without ObservabilityModule serves none and counts into its own. */
function appMetrics(app: NestFastifyApplication): AppMetricsRegistry {
  try {
    return app.get(AppMetricsRegistry);
  } catch {
    return new AppMetricsRegistry();
  }
}
