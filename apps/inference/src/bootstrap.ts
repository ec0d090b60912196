import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startSepalApp } from '@sepal/http';
import { installBodyHandling } from './http/body-errors';
import { InferenceConfig, InferenceConfigValues } from './inference.config';
import { InferenceModule } from './inference.module';

/** Starts the inference gateway (HTTP API + model.promoted consumer); used by main.ts and by `sepal up`. */
export async function startInferenceApp(
  config: InferenceConfigValues = InferenceConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  return startSepalApp(InferenceModule.forRoot(config), {
    service: 'inference',
    title: 'Sepal inference gateway',
    description:
      'Predictions from the champion model (REST and Open Inference Protocol v2), hot reload on promotion, feedback intake and metrics.',
    config,
    port: config.INFERENCE_PORT,
    host: config.INFERENCE_HOST ?? config.HOST,
    registryUrl: config.REGISTRY_URL,
    bodyLimitBytes: config.MAX_BODY_BYTES,
    configureFastify: (fastify) => installBodyHandling(fastify, config.MAX_BODY_BYTES),
    listen: options.listen,
  });
}
