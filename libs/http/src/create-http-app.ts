import { LoggerService } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';
import { installHttpMetrics } from '@sepal/observability';
import { ApiKeyGuard, ApiKeyOptions } from './api-key.guard';
import { DomainExceptionFilter } from './domain-exception.filter';
import { refuseNulCharacters } from './refuse-nul-characters';
import { serveSwaggerUi } from './swagger-ui';

export interface HttpAppOptions {
  title: string;
  description: string;
  logger: LoggerService;
  apiKey: ApiKeyOptions;
  bodyLimitBytes?: number;
  /** Fastify's serverFactory: the node:http server Fastify runs on (e.g. with a lean path for hot routes). */
  serverFactory?: FastifyServerOptions['serverFactory'];
}

/** A Sepal HTTP app: Fastify, JSON errors, API-key guard, HTTP metrics and OpenAPI docs at /docs. */
export async function createHttpApp(
  rootModule: Parameters<typeof NestFactory.create>[0],
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: options.logger,
    abortOnError: false,
  });
  installHttpMetrics(app.getHttpAdapter().getInstance());
  refuseNulCharacters(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new DomainExceptionFilter());
  app.useGlobalGuards(new ApiKeyGuard(app.get(Reflector), options.apiKey));
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
