import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RunPage, RunView } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import {
  createTestDatabase,
  deleteNamespace,
  freePort,
  inject,
  NO_CROSS_VALIDATION,
  TestDatabase,
} from '@sepal/testing';
import { DataConfig, startDataApp } from '../../../apps/data/src';
import { RegistryConfig, startRegistryApp } from '../../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../../apps/trainer/src';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const QUEUES = [
  'trainer.jobs',
  'trainer.retrain-policy',
  'trainer.batch-jobs',
  'registry.training',
  'registry.jobs',
  'data.feedback',
  'test.observer',
];

/** The real data service and registry on real PostgreSQL and RabbitMQ, listening on free local ports. */
export interface Services {
  namespace: string;
  /** On real PostgreSQL and RabbitMQ (else PGlite in memory and the in-process bus). */
  real: boolean;
  data: NestFastifyApplication;
  registry: NestFastifyApplication;
  dataUrl: string;
  registryUrl: string;
  close(): Promise<void>;
}

/**
 * `apiKey`: keys on (the registry's SEPAL_API_KEY, which the data service checks keys against); `data`: settings of
 * the data service added to or overriding the defaults.
 */
export async function startServices(
  namespace: string,
  options: { real: boolean; apiKey?: string; data?: NodeJS.ProcessEnv; registry?: NodeJS.ProcessEnv },
): Promise<Services> {
  const db: TestDatabase | undefined = options.real ? await createTestDatabase('sepal_trainer') : undefined;
  const modelsDir = await mkdtemp(join(tmpdir(), 'sepal-trainer-models-'));
  const common = {
    DATABASE_URL: db?.url,
    AMQP_URL: options.real ? AMQP_URL : undefined,
    SEPAL_HOME: `memory://trainer-${namespace}`,
    SEPAL_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
    SEPAL_API_KEY: options.apiKey,
  };
  // A known port, so the artifact URLs announced in model.promoted (REGISTRY_PUBLIC_URL) reach this registry, and
  // the data service checks keys against it.
  const registryPort = await freePort();
  const data = await startDataApp(
    DataConfig.load({
      ...common,
      DATA_PORT: '0',
      DATA_HOST: '127.0.0.1',
      DATA_DIR: join(__dirname, '../../../data'),
      FEEDBACK_COMMIT_EVERY: '0',
      REGISTRY_URL: `http://127.0.0.1:${registryPort}`,
      ...options.data,
    }),
  );
  const registry = await startRegistryApp(
    RegistryConfig.load({
      ...common,
      REGISTRY_PORT: String(registryPort),
      REGISTRY_HOST: '127.0.0.1',
      REGISTRY_PUBLIC_URL: `http://127.0.0.1:${registryPort}`,
      MODELS_DIR: modelsDir,
      ...options.registry,
    }),
  );
  const dataUrl = (await data.getUrl()).replace('[::1]', '127.0.0.1');
  const registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    namespace,
    real: options.real,
    data,
    registry,
    dataUrl,
    registryUrl,
    close: async () => {
      await registry.close();
      await data.close();
      await closeEmbeddedDatabases();
      await db?.drop();
      await rm(modelsDir, { recursive: true, force: true });
      if (options.real) await deleteNamespace(AMQP_URL, namespace, QUEUES);
    },
  };
}

/** A trainer app (no listener) on these services and their broker; `env` adds to or overrides the shared settings. */
export function startTrainer(
  services: Services,
  env: NodeJS.ProcessEnv = {},
): Promise<NestFastifyApplication> {
  return startTrainerApp(
    TrainerConfig.load({
      AMQP_URL: services.real ? AMQP_URL : undefined,
      SEPAL_NAMESPACE: services.namespace,
      DATA_URL: services.dataUrl,
      REGISTRY_URL: services.registryUrl,
      LOG_LEVEL: 'warn',
      // These suites are about jobs, events and trust, not selection.
      ...NO_CROSS_VALIDATION,
      ...env,
    }),
    { listen: false },
  );
}

/** A request to an app in this process (Fastify's inject, `X-Sepal-Client: 1`). */
export { inject };

/** Imports the shipped Iris dataset into the services' data app (its first version; 201). */
export function importIris(services: Services) {
  return inject(services.data, 'POST', '/datasets/iris/import', {});
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function runsOf(registryUrl: string, filter: string): Promise<RunView[]> {
  const page = await getJson<RunPage>(`${registryUrl}/runs?limit=1000&filter=${encodeURIComponent(filter)}`);
  return page.runs;
}
