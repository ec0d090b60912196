import { runService } from '@sepal/http';
import { startConsoleApp } from './bootstrap';
import { ConsoleConfig } from './console.config';

void runService('console', async () => {
  const config = ConsoleConfig.load();
  return { app: await startConsoleApp(config), config };
});
