import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventTransport } from '@sepal/messaging';
import { createHttpApp } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { DataConfig, DataConfigValues } from './data.config';
import { DataModule } from './data.module';

/** Starts the data service (HTTP API + event consumers); used by main.ts and by `sepal up`. */
export async function startDataApp(
  config: DataConfigValues = DataConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(DataModule.forRoot(config), {
    title: 'Sepal data service',
    description: 'Dataset import, cleaning, label maps, stratified splits, content-hashed versions and feedback.',
    logger: new JsonLogger({ service: 'data', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    apiKey: { apiKey: config.SEPAL_API_KEY, readRequiresKey: config.SEPAL_READ_REQUIRES_KEY },
    bodyLimitBytes: config.DATA_MAX_UPLOAD_BYTES,
  });
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  if (options.listen !== false) await app.listen(config.DATA_PORT, config.DATA_HOST);
  else await app.init();
  return app;
}
