export { RegistryModule } from './registry.module';
export { startRegistryApp } from './bootstrap';
export { RegistryConfig, registryConfigSchema } from './registry.config';
export type { RegistryConfigValues } from './registry.config';
export { createKeyInDatabase } from './keys/keys-admin';
