import { z } from 'zod';
import { baseConfigSchema, loadConfig, portVar } from '@sepal/config';

export const dataConfigSchema = baseConfigSchema.extend({
  DATA_PORT: portVar(3001),
  /** Overrides HOST for this app. */
  DATA_HOST: z.string().min(1).optional(),
  /** The registry, which checks API keys for this app. */
  REGISTRY_URL: z
    .string()
    .url()
    .refine((value) => /^https?:/.test(value), { message: 'must start with http:// or https://' })
    .default('http://127.0.0.1:3002'),
  /** Where the shipped raw datasets live (data/iris/iris.data, ...). */
  DATA_DIR: z.string().default('data'),
  SPLIT_TEST_FRACTION: z.coerce.number().gt(0).lt(1).default(0.2),
  SPLIT_SEED: z.coerce.number().int().default(42),
  /** Commit pending feedback into a new version once this many rows wait; 0 = only on demand. */
  FEEDBACK_COMMIT_EVERY: z.coerce.number().int().min(0).default(25),
  /**
   * Feedback samples each key may send per minute, over POST /datasets/:name/feedback and the gateways'
   * feedback.received together; 429 beyond (an event over it is retried, then dead-lettered with the reason). With keys
   * on only (SEPAL_API_KEY): keyless, every caller is this machine and no sample is refused.
   */
  FEEDBACK_RATE_PER_KEY: z.coerce.number().positive().max(1_000_000).default(120),
  /** How many feedback samples a key may send at once before the per-minute rate applies. */
  FEEDBACK_BURST_PER_KEY: z.coerce.number().int().positive().max(1_000_000).default(120),
  /** Largest CSV body POST /datasets/:name/import accepts (streamed, so memory does not grow with it); 413 beyond. */
  DATA_MAX_IMPORT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  /** CSV imports (and dry runs) read at once, each in its own worker thread; 429 beyond. */
  DATA_MAX_CONCURRENT_IMPORTS: z.coerce.number().int().min(1).max(64).default(2),
  /** Largest zip POST /datasets/:name/images/import accepts (held in memory while it is read); 413 beyond. */
  DATA_MAX_IMAGE_IMPORT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  /** Most images one image import may hold (files of a zip, or images of IDX files); 413 beyond. */
  DATA_MAX_IMAGE_FILES: z.coerce.number().int().positive().default(100_000),
  /** Largest single image file (PNG or JPEG) of an image import, uncompressed from the zip; 413 naming it beyond. */
  DATA_MAX_IMAGE_FILE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  /** Most pixels (width × height) an image may have before it is decoded, against decompression bombs; 413 beyond. */
  DATA_MAX_IMAGE_PIXELS: z.coerce
    .number()
    .int()
    .positive()
    .default(4096 * 4096),
  /** Largest side (height or width) an image dataset may declare as its input shape; 400 beyond. */
  DATA_MAX_IMAGE_SIDE: z.coerce.number().int().min(1).max(1024).default(256),
  /** Where the Debian package dataset-fashion-mnist puts the Fashion-MNIST IDX files (the built-in fashion-mnist). */
  FASHION_MNIST_DIR: z.string().default('/usr/share/datasets/fashion-mnist'),
  /** Days of the prediction log kept (whole UTC days); older days are deleted every hour. */
  PREDICTION_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** The sliding window of live quality: labelled predictions made in the last this many minutes. */
  PREDICTION_QUALITY_WINDOW_MINUTES: z.coerce.number().int().min(1).max(525_600).default(1440),
  /** How often live quality (sepal_live_quality) is recomputed (ms). */
  PREDICTION_QUALITY_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  DATA_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(50 * 1024 * 1024),
});

export type DataConfigValues = z.output<typeof dataConfigSchema>;

/** The data service's configuration, read and validated once at start; inject it by this class. */
export abstract class DataConfig {
  static load(env: NodeJS.ProcessEnv = process.env): DataConfigValues {
    return loadConfig(dataConfigSchema, env);
  }
}
