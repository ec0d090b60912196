import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventTransport } from '@sepal/messaging';
import { createHttpApp } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { installBodyHandling } from './http/body-errors';
import { InferenceConfig, InferenceConfigValues } from './inference.config';
import { InferenceModule } from './inference.module';

/** Starts the inference gateway (HTTP API + model.promoted consumer); used by main.ts and by `sepal up`. */
export async function startInferenceApp(
  config: InferenceConfigValues = InferenceConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(InferenceModule.forRoot(config), {
    title: 'Sepal inference gateway',
    description:
      'Predictions from the champion model (REST and Open Inference Protocol v2), hot reload on promotion, feedback intake and metrics.',
    logger: new JsonLogger({ service: 'inference', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    apiKey: { apiKey: config.SEPAL_API_KEY, readRequiresKey: config.SEPAL_READ_REQUIRES_KEY },
    bodyLimitBytes: config.MAX_BODY_BYTES,
  });
  installBodyHandling(app.getHttpAdapter().getInstance(), config.MAX_BODY_BYTES);
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  if (options.listen !== false) await app.listen(config.INFERENCE_PORT, config.INFERENCE_HOST);
  else await app.init();
  return app;
}
