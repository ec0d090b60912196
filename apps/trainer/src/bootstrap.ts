import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startSepalApp } from '@sepal/http';
import { TrainerConfig, TrainerConfigValues } from './trainer.config';
import { TrainerModule } from './trainer.module';

/** Starts the trainer (HTTP API + job and trigger consumers); used by main.ts and by `sepal up`. */
export async function startTrainerApp(
  config: TrainerConfigValues = TrainerConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  return startSepalApp(TrainerModule.forRoot(config), {
    service: 'trainer',
    title: 'Sepal trainer',
    description:
      'Training jobs (train.requested on trainer.jobs): grid search of dense classifiers with TensorFlow.js, ' +
      'evaluation on the test split, ONNX export checked with onnxruntime, registration and the promotion gate.',
    config,
    port: config.TRAINER_PORT,
    host: config.TRAINER_HOST ?? config.HOST,
    registryUrl: config.REGISTRY_URL,
    listen: options.listen,
  });
}
