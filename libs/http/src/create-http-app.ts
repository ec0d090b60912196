import { LoggerService } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';
import { installHttpMetrics } from '@sepal/observability';
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
    /** Failed key checks per caller address (429 beyond); none: unlimited. */
    failures?: FailedKeyChecks;
    /** SEPAL_ALLOWED_HOSTS: host names besides loopback a keyless app answers (see localOnlyRefusal). */
    allowedHosts?: readonly string[];
  };
  /** Largest request body a route parses (Fastify answers 413 beyond it); default 1 MiB (HTTP_BODY_LIMIT_BYTES). */
  bodyLimitBytes?: number;
  /** Fastify's serverFactory: the node:http server Fastify runs on (e.g. with a lean path for hot routes). */
  serverFactory?: FastifyServerOptions['serverFactory'];
  /** Longest a request may take to arrive (Node answers 408 beyond it); default 120 s. */
  requestTimeoutMs?: number;
}

/**
 * A Sepal HTTP app: Fastify with body and time limits, JSON errors, the key (or, keyless, the this-machine-only rules)
 * checked before the body is read, the scope guard, HTTP metrics and OpenAPI docs at /docs. */
export async function createHttpApp(
  rootModule: Parameters<typeof NestFactory.create>[0],
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    requestTimeout: options.requestTimeoutMs ?? 120_000,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: options.logger,
    abortOnError: false,
  });
  recordRoutes(app.getHttpAdapter().getInstance());
  installHttpMetrics(app.getHttpAdapter().getInstance());
  refuseUnstorableCharacters(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new DomainExceptionFilter());
  const guard = new ScopeGuard(app.get(Reflector), {
    enabled: options.auth.enabled,
    verifier: options.auth.verifier(app),
    failures: options.auth.failures,
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
