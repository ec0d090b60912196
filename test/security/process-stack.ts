import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  deleteNamespace,
  freePort,
  TEST_AMQP_URL,
  TestDatabase,
  uniqueNamespace,
  waitFor,
  NO_CROSS_VALIDATION,
} from '@sepal/testing';
import { QUEUES, ROOT, ServiceProcess } from '../e2e/service-process';

export type AppName = 'data' | 'registry' | 'trainer' | 'inference' | 'console';
export const APPS: readonly AppName[] = ['data', 'registry', 'trainer', 'inference', 'console'];

export interface ProcessStack {
  services: Record<AppName, ServiceProcess>;
  url: (app: AppName) => string;
  /** Resident set size of an app's process, in bytes (from /proc). */
  rss: (app: AppName) => number;
  report: () => string;
  stop: () => Promise<void>;
}

/**
 * The five apps as separate processes from the build (`npm run build` first), on PostgreSQL and RabbitMQ, loopback
 * only; `env` is added to every app's environment (SEPAL_API_KEY for keys on).
 */
export async function startProcessStack(env: Record<string, string>): Promise<ProcessStack> {
  const db: TestDatabase = await createTestDatabase('sepal_edge');
  const namespace = uniqueNamespace('edge');
  const home = mkdtempSync(join(tmpdir(), 'sepal-edge-'));
  const ports = Object.fromEntries(
    await Promise.all(APPS.map(async (app) => [app, await freePort()] as const)),
  ) as Record<AppName, number>;
  const url = (app: AppName) => `http://127.0.0.1:${ports[app]}`;
  const common = {
    DATABASE_URL: db.url,
    AMQP_URL: TEST_AMQP_URL,
    SEPAL_NAMESPACE: namespace,
    SEPAL_HOME: home,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_URL: url('data'),
    REGISTRY_URL: url('registry'),
    TRAINER_URL: url('trainer'),
    INFERENCE_URL: url('inference'),
    ...NO_CROSS_VALIDATION,
    ...env,
  };
  const services: Record<AppName, ServiceProcess> = {
    data: new ServiceProcess('data', url('data'), {
      ...common,
      DATA_PORT: String(ports.data),
      DATA_DIR: join(ROOT, 'data'),
      FEEDBACK_COMMIT_EVERY: '0',
    }),
    registry: new ServiceProcess('registry', url('registry'), {
      ...common,
      REGISTRY_PORT: String(ports.registry),
      MODELS_DIR: join(home, 'models'),
      REGISTRY_PUBLIC_URL: url('registry'),
    }),
    trainer: new ServiceProcess('trainer', url('trainer'), {
      ...common,
      TRAINER_PORT: String(ports.trainer),
      RETRAIN_ON_FEEDBACK: 'false',
    }),
    inference: new ServiceProcess('inference', url('inference'), {
      ...common,
      INFERENCE_PORT: String(ports.inference),
      MODEL_NAME: 'IrisModel',
    }),
    console: new ServiceProcess('console', url('console'), {
      ...common,
      CONSOLE_PORT: String(ports.console),
    }),
  };
  const report = () =>
    Object.values(services)
      .map((s) => `--- ${s.app} (${s.running ? 'running' : 'exited'}) ---\n${s.tail()}`)
      .join('\n');
  const stop = async () => {
    await Promise.all(Object.values(services).map((s) => s.stop()));
    await db.drop();
    await deleteNamespace(TEST_AMQP_URL, namespace, QUEUES);
    rmSync(home, { recursive: true, force: true });
  };
  for (const service of Object.values(services)) service.start();
  try {
    for (const service of Object.values(services)) {
      // Ready where readiness needs nothing but the app itself (the trainer's workers have loaded); live elsewhere.
      const probe = ['data', 'registry', 'trainer'].includes(service.app) ? 'ready' : 'live';
      await waitFor(
        async () =>
          (await fetch(`${service.url}/health/${probe}`).then(
            (r) => r.status,
            () => 0,
          )) === 200,
        { timeoutMs: 90_000, description: `${service.app} to answer /health/${probe}` },
      );
    }
  } catch (error) {
    const message = `${(error as Error).message}\n${report()}`;
    await stop();
    throw new Error(message);
  }
  const rss = (app: AppName) => {
    const status = readFileSync(`/proc/${services[app].pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  };
  return { services, url, rss, report, stop };
}
