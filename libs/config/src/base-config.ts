import { z } from 'zod';
import { urlVar } from './env-types';

/** Variables every Sepal app reads. Unset DATABASE_URL / AMQP_URL select the embedded adapters. */
export const baseConfigSchema = z.object({
  DATABASE_URL: urlVar(['postgres', 'postgresql']).optional(),
  AMQP_URL: urlVar(['amqp', 'amqps']).optional(),
  SEPAL_HOME: z.string().default('.sepal'),
  SEPAL_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, _ and - only')
    .optional(),
  SEPAL_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  SEPAL_READ_REQUIRES_KEY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type BaseConfig = z.output<typeof baseConfigSchema>;
