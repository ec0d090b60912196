import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventTransport } from '@sepal/messaging';
import { createHttpApp } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { TrainerConfig, TrainerConfigValues } from './trainer.config';
import { TrainerModule } from './trainer.module';

/** Starts the trainer (HTTP API + job and trigger consumers); used by main.ts and by `sepal up`. */
export async function startTrainerApp(
  config: TrainerConfigValues = TrainerConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(TrainerModule.forRoot(config), {
    title: 'Sepal trainer',
    description:
      'Training jobs (train.requested on trainer.jobs): grid search of dense classifiers with TensorFlow.js, ' +
      'evaluation on the test split, ONNX export checked with onnxruntime, registration and the promotion gate.',
    logger: new JsonLogger({ service: 'trainer', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    apiKey: { apiKey: config.SEPAL_API_KEY, readRequiresKey: config.SEPAL_READ_REQUIRES_KEY },
  });
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  if (options.listen !== false) await app.listen(config.TRAINER_PORT, config.TRAINER_HOST);
  else await app.init();
  return app;
}
