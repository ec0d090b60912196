import { runService } from '@sepal/http';
import { startTrainerApp } from './bootstrap';
import { TrainerConfig } from './trainer.config';

void runService('trainer', async () => {
  const config = TrainerConfig.load();
  return { app: await startTrainerApp(config), config };
});
