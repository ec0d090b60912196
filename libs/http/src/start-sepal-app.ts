import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { BaseConfig } from '@sepal/config';
import { EventTransport } from '@sepal/messaging';
import { JsonLogger } from '@sepal/observability';
import { createHttpApp } from './create-http-app';

export interface SepalAppOptions {
  service: string;
  title: string;
  description: string;
  config: BaseConfig;
  port: number;
  host: string;
  bodyLimitBytes?: number;
  /** Fastify set-up the app needs before it starts (content-type parsers, body error handling). */
  configureFastify?: (fastify: FastifyInstance) => void;
  /** Fastify's serverFactory (see createHttpApp). */
  serverFactory?: Parameters<typeof createHttpApp>[1]['serverFactory'];
  /** false: initialise without listening (tests drive it with fastify.inject). */
  listen?: boolean;
}

/** Starts a Sepal app: its HTTP API on Fastify and its event consumers on the bus, with structured logs. */
export async function startSepalApp(
  rootModule: Parameters<typeof createHttpApp>[0],
  options: SepalAppOptions,
): Promise<NestFastifyApplication> {
  const { config } = options;
  const app = await createHttpApp(rootModule, {
    title: options.title,
    description: options.description,
    logger: new JsonLogger({ service: options.service, level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    apiKey: { apiKey: config.SEPAL_API_KEY, readRequiresKey: config.SEPAL_READ_REQUIRES_KEY },
    bodyLimitBytes: options.bodyLimitBytes,
    serverFactory: options.serverFactory,
  });
  options.configureFastify?.(app.getHttpAdapter().getInstance());
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  if (options.listen !== false) await app.listen(options.port, options.host);
  else await app.init();
  return app;
}
