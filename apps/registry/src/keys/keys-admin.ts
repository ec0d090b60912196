import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { CreatedKey, CreateKeyRequest } from '@sepal/contracts';
import { AppMetricsRegistry } from '@sepal/observability';
import { RegistryConfigValues } from '../registry.config';
import { registryConfigModule, registryPersistence } from '../registry.imports';
import { KeysModule } from './keys.module';
import { KeysService } from './keys.service';

/**
 * `sepal keys create --admin`: makes a key straight in the registry's database (migrated first), with no service
 * running and no key yet: how the first admin key is made when SEPAL_API_KEY is not the bootstrap.
 */
export async function createKeyInDatabase(
  config: RegistryConfigValues,
  request: CreateKeyRequest,
): Promise<CreatedKey> {
  // No HTTP app and no /metrics here: the key service's counter goes to a registry of this context's own.
  @Module({ providers: [AppMetricsRegistry], exports: [AppMetricsRegistry] })
  class KeysAdminMetrics {}
  @Module({})
  class KeysAdminModule {}
  const context = await NestFactory.createApplicationContext(
    {
      module: KeysAdminModule,
      imports: [
        registryConfigModule(config),
        registryPersistence(config, 'sepal-keys'),
        { module: KeysAdminMetrics, global: true },
        KeysModule,
      ],
    },
    { logger: false },
  );
  try {
    return await context.get(KeysService).create(request, null, 'cli');
  } finally {
    await context.close();
  }
}
