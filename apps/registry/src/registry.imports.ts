import { DynamicModule, Module } from '@nestjs/common';
import { PersistenceModule, resolveDatabaseTarget } from '@sepal/persistence';
import { RegistryConfig, RegistryConfigValues } from './registry.config';
import { REGISTRY_MIGRATIONS } from './registry.migrations';
import { REGISTRY_SCHEMA } from './registry.schema';

@Module({})
class RegistryConfigModule {}

/** The registry's validated settings, injectable in every module of the context. */
export function registryConfigModule(config: RegistryConfigValues): DynamicModule {
  return {
    module: RegistryConfigModule,
    global: true,
    providers: [{ provide: RegistryConfig, useValue: config }],
    exports: [RegistryConfig],
  };
}

/** The registry's database (the `registry` schema, migrated on start), connected as `applicationName`. */
export function registryPersistence(config: RegistryConfigValues, applicationName: string): DynamicModule {
  return PersistenceModule.forRoot({
    target: resolveDatabaseTarget(config.DATABASE_URL, config.SEPAL_HOME),
    schema: REGISTRY_SCHEMA,
    entities: [],
    migrations: REGISTRY_MIGRATIONS,
    applicationName,
  });
}
