import { runService } from '@sepal/http';
import { startInferenceApp } from './bootstrap';
import { InferenceConfig } from './inference.config';

void runService('inference', async () => {
  const config = InferenceConfig.load();
  return { app: await startInferenceApp(config), config };
});
