import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { ConsoleConfig, ConsoleConfigValues } from './console.config';
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
  const app = await createHttpApp(ConsoleModule.forRoot(config), {
    title: 'Sepal console',
    description:
      'The web console: its single-page app, a proxy to the services under /api/<service>/, traffic and job streams.',
    logger: new JsonLogger({ service: 'console', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    // The services check keys; the console forwards them.
    apiKey: { readRequiresKey: false },
    bodyLimitBytes: config.CONSOLE_MAX_BODY_BYTES,
  });
  installConsoleRoutes(app.getHttpAdapter().getInstance(), {
    config,
    proxy: app.get(ProxyService),
    jobs: app.get(JobsStreamService),
    files: app.get(StaticFilesService),
  });
  if (options.listen !== false) await app.listen(config.CONSOLE_PORT, config.CONSOLE_HOST);
  else await app.init();
  return app;
}
