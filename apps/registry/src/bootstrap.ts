import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventTransport } from '@sepal/messaging';
import { createHttpApp } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { registerOctetStreamParser } from './artifacts/octet-stream';
import { RegistryConfig, RegistryConfigValues } from './registry.config';
import { RegistryModule } from './registry.module';

/** Starts the registry (HTTP API + training event consumers + outbox relay); used by main.ts and by `sepal up`. */
export async function startRegistryApp(
  config: RegistryConfigValues = RegistryConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(RegistryModule.forRoot(config), {
    title: 'Sepal registry',
    description:
      'Experiments, runs, metrics and searches; content-addressed artifacts; registered models, versions, aliases, ' +
      'promotion (model.promoted through an outbox), the audit log of alias moves and lineage.',
    logger: new JsonLogger({ service: 'registry', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    apiKey: { apiKey: config.SEPAL_API_KEY, readRequiresKey: config.SEPAL_READ_REQUIRES_KEY },
  });
  registerOctetStreamParser(app.getHttpAdapter().getInstance(), config.REGISTRY_MAX_ARTIFACT_BYTES);
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  if (options.listen !== false) await app.listen(config.REGISTRY_PORT, config.REGISTRY_HOST);
  else await app.init();
  return app;
}
