import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startSepalApp } from '@sepal/http';
import { KeysService } from './keys/keys.service';
import { registerOctetStreamParser } from './artifacts/octet-stream';
import { RegistryConfig, RegistryConfigValues } from './registry.config';
import { RegistryModule } from './registry.module';

/** Starts the registry (HTTP API + training event consumers + outbox relay); used by main.ts and by `sepal up`. */
export async function startRegistryApp(
  config: RegistryConfigValues = RegistryConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  return startSepalApp(RegistryModule.forRoot(config), {
    service: 'registry',
    title: 'Sepal registry',
    description:
      'Experiments, runs, metrics and searches; content-addressed artifacts; registered models, versions, aliases, ' +
      'promotion (model.promoted through an outbox), the audit log of alias moves and lineage; durable training jobs ' +
      'and their steps (cancel, retry).',
    config,
    port: config.REGISTRY_PORT,
    host: config.REGISTRY_HOST ?? config.HOST,
    keyVerifier: (app) => app.get(KeysService).cached,
    keyChecks: (app) => app.get(KeysService).checks,
    configureFastify: (fastify) => registerOctetStreamParser(fastify),
    listen: options.listen,
  });
}
