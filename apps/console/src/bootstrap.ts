import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { checkListenPolicy, DomainExceptionFilter } from '@sepal/http';
import { AppMetricsRegistry, installHttpMetrics, JsonLogger } from '@sepal/observability';
import { ConsoleConfig, ConsoleConfigValues } from './console.config';
import { installConsoleEdge, installSecurityHeaders } from './console-edge';
import { ConsoleModule } from './console.module';
import { installConsoleRoutes } from './console.routes';
import { JobsStreamService } from './jobs-stream/jobs-stream.service';
import { ProxyService } from './proxy/proxy.service';
import { StaticFilesService } from './web/static-files.service';

/** Starts the console (used by main.ts and by `sepal up`). It holds no key: callers' keys go through to the services. */
export async function startConsoleApp(
  config: ConsoleConfigValues = ConsoleConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const host = config.CONSOLE_HOST ?? config.HOST;
  const warning = checkListenPolicy({
    service: 'console',
    host,
    keysConfigured: Boolean(config.SEPAL_API_KEY),
    insecure: config.SEPAL_INSECURE,
  });
  const logger = new JsonLogger({ service: 'console', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  if (warning) logger.warn(warning, 'Auth');
  // Not createHttpApp: the console has no guarded routes of its own (they only read: the app, the sampled traffic, the
  // job stream); each service checks the caller's key, which the proxy forwards. Its edge checks a key before a body.
  const app = await NestFactory.create<NestFastifyApplication>(
    ConsoleModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: config.CONSOLE_MAX_BODY_BYTES }),
    {
      logger,
      abortOnError: false,
    },
  );
  installHttpMetrics(app.getHttpAdapter().getInstance(), app.get(AppMetricsRegistry).http);
  installConsoleEdge(app.getHttpAdapter().getInstance(), config);
  installSecurityHeaders(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new DomainExceptionFilter());
  app.enableShutdownHooks();
  installConsoleRoutes(app.getHttpAdapter().getInstance(), {
    config,
    proxy: app.get(ProxyService),
    jobs: app.get(JobsStreamService),
    files: app.get(StaticFilesService),
  });
  if (options.listen !== false) await app.listen(config.CONSOLE_PORT, host);
  else await app.init();
  return app;
}
