/**
 * The data app as its suites run it: in this process without a listener, on real PostgreSQL and RabbitMQ or on the
 * embedded adapters (PGlite in memory, the in-process bus), in a namespace of its own.
 */
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, deleteNamespace, inject, TestDatabase, uniqueNamespace } from '@sepal/testing';
import { startDataApp } from '../../src/bootstrap';
import { DataConfig } from '../../src/data.config';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export type DataTestMode = 'real services' | 'embedded adapters';
export const DATA_TEST_MODES: readonly DataTestMode[] = ['real services', 'embedded adapters'];
/** The shipped raw datasets (Iris, Wine Quality). */
export const SHIPPED_DATA_DIR = join(__dirname, '../../../../data');

export interface DataTestApp {
  app: NestFastifyApplication;
  namespace: string;
  /** The broker in the real mode; undefined on the embedded adapters (the in-process bus). */
  amqpUrl: string | undefined;
  /** A request as a keyless local client sends it (JSON unless a payload says otherwise). */
  http(method: 'GET' | 'POST', url: string, payload?: unknown): ReturnType<typeof inject>;
  /** Stops the app, drops its database and, in the real mode, deletes its namespace with `queues`. */
  close(queues?: string[]): Promise<void>;
}

/**
 * Starts the data app in a new namespace `prefix_…` (no feedback commits by policy, quiet logs); `env` adds to or
 * overrides those settings.
 */
export async function startDataTestApp(
  mode: DataTestMode,
  prefix: string,
  env: NodeJS.ProcessEnv = {},
): Promise<DataTestApp> {
  const namespace = uniqueNamespace(prefix);
  const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
  const db: TestDatabase | undefined = mode === 'real services' ? await createTestDatabase() : undefined;
  let app: NestFastifyApplication;
  try {
    app = await startDataApp(
      DataConfig.load({
        DATABASE_URL: db?.url,
        AMQP_URL: amqpUrl,
        SEPAL_HOME: `memory://${prefix}-${namespace}`,
        SEPAL_NAMESPACE: namespace,
        FEEDBACK_COMMIT_EVERY: '0',
        LOG_LEVEL: 'warn',
        ...env,
      }),
      { listen: false },
    );
  } catch (error) {
    await closeEmbeddedDatabases();
    await db?.drop();
    throw error;
  }
  return {
    app,
    namespace,
    amqpUrl,
    http: (method, url, payload) => inject(app, method, url, payload),
    close: async (queues = ['data.feedback']) => {
      await app.close();
      await closeEmbeddedDatabases();
      await db?.drop();
      if (amqpUrl) await deleteNamespace(amqpUrl, namespace, queues);
    },
  };
}
