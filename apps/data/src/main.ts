import { runService } from '@sepal/http';
import { startDataApp } from './bootstrap';
import { DataConfig } from './data.config';

void runService('data', async () => {
  const config = DataConfig.load();
  return { app: await startDataApp(config), config };
});
