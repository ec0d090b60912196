import { runService } from '@sepal/http';
import { startRegistryApp } from './bootstrap';
import { RegistryConfig } from './registry.config';

void runService('registry', async () => {
  const config = RegistryConfig.load();
  return { app: await startRegistryApp(config), config };
});
