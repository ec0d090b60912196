import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startSepalApp } from '@sepal/http';
import { DataConfig, DataConfigValues } from './data.config';
import { DataModule } from './data.module';

/** Starts the data service (HTTP API + event consumers); used by main.ts and by `sepal up`. */
export async function startDataApp(
  config: DataConfigValues = DataConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  return startSepalApp(DataModule.forRoot(config), {
    service: 'data',
    title: 'Sepal data service',
    description:
      'Dataset import, cleaning, label maps, stratified splits, content-hashed versions and feedback.',
    config,
    port: config.DATA_PORT,
    host: config.DATA_HOST ?? config.HOST,
    registryUrl: config.REGISTRY_URL,
    bodyLimitBytes: config.DATA_MAX_UPLOAD_BYTES,
    listen: options.listen,
    // A CSV body reaches the import as the request's stream (never buffered whole); the import counts its bytes
    // against DATA_MAX_IMPORT_BYTES itself (a zip of images against DATA_MAX_IMAGE_IMPORT_BYTES).
    configureFastify: (fastify) =>
      fastify.addContentTypeParser(
        [
          'text/csv',
          'text/plain',
          'application/octet-stream',
          'application/zip',
          'application/x-zip-compressed',
        ],
        (_request, payload, done) => done(null, payload),
      ),
  });
}
