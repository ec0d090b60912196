import { mkdtempSync, rmSync } from 'node:fs';
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
} from '@sepal/testing';
import { QUEUES, ROOT, ServiceProcess } from './service-process';

const SMALL_GRID = { learningRate: [0.05], hiddenUnits: [16] };
const IRIS_ROW = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 };

async function json<T>(
  url: string,
  init?: { method?: string; body?: unknown },
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: init?.method ?? 'GET',
    headers: {
      'x-sepal-client': '1',
      ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init?.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const statusOf = (url: string) =>
  fetch(url).then(
    (r) => r.status,
    () => 0,
  );

describe('the whole loop as four separate processes on PostgreSQL and RabbitMQ', () => {
  let db: TestDatabase;
  let namespace: string;
  let modelsDir: string;
  let services: Record<'data' | 'registry' | 'trainer' | 'inference', ServiceProcess>;

  const report = () =>
    Object.values(services ?? {})
      .map((s) => `--- ${s.app} (${s.running ? 'running' : 'exited'}) ---\n${s.tail()}`)
      .join('\n');

  beforeAll(async () => {
    db = await createTestDatabase('sepal_e2e');
    namespace = uniqueNamespace('e2e');
    modelsDir = mkdtempSync(join(tmpdir(), 'sepal-e2e-models-'));
    const [data, registry, trainer, inference] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const url = (port: number) => `http://127.0.0.1:${port}`;
    const common = {
      DATABASE_URL: db.url,
      AMQP_URL: TEST_AMQP_URL,
      SEPAL_NAMESPACE: namespace,
      SEPAL_HOME: modelsDir,
      LOG_LEVEL: 'warn',
      DATA_URL: url(data),
      REGISTRY_URL: url(registry),
    };
    services = {
      data: new ServiceProcess('data', url(data), {
        ...common,
        DATA_PORT: String(data),
        DATA_HOST: '127.0.0.1',
        DATA_DIR: join(ROOT, 'data'),
        FEEDBACK_COMMIT_EVERY: '0',
      }),
      registry: new ServiceProcess('registry', url(registry), {
        ...common,
        REGISTRY_PORT: String(registry),
        REGISTRY_HOST: '127.0.0.1',
        MODELS_DIR: modelsDir,
        REGISTRY_PUBLIC_URL: url(registry),
      }),
      trainer: new ServiceProcess('trainer', url(trainer), {
        ...common,
        TRAINER_PORT: String(trainer),
        TRAINER_HOST: '127.0.0.1',
        RETRAIN_ON_FEEDBACK: 'false',
        GATE_MIN_IMPROVEMENT: '-1',
      }),
      inference: new ServiceProcess('inference', url(inference), {
        ...common,
        INFERENCE_PORT: String(inference),
        INFERENCE_HOST: '127.0.0.1',
        MODEL_NAME: 'IrisModel',
        MODEL_RETRY_INTERVAL_MS: '500',
      }),
    };
    for (const service of Object.values(services)) service.start();
    try {
      for (const service of Object.values(services)) {
        await waitFor(async () => (await statusOf(`${service.url}/health/live`)) === 200, {
          timeoutMs: 60_000,
          description: `${service.app} to answer /health/live`,
        });
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${report()}`);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(services ?? {}).map((s) => s.stop()));
    await db?.drop();
    await deleteNamespace(TEST_AMQP_URL, namespace, QUEUES);
    rmSync(modelsDir, { recursive: true, force: true });
  }, 60_000);

  it('imports Iris, trains, promotes, serves; then feedback → new version → retrain → the new model is served', async () => {
    try {
      const imported = await json<{ version: { id: string } }>(`${services.data.url}/datasets/iris/import`, {
        method: 'POST',
        body: {},
      });
      expect(imported.status).toBe(201);
      const firstVersion = imported.body.version.id;

      const job = await json<{ jobId: string }>(`${services.trainer.url}/train`, {
        method: 'POST',
        body: { dataset: 'iris', grid: SMALL_GRID },
      });
      expect(job.status).toBe(202);
      await waitFor(async () => (await statusOf(`${services.inference.url}/health/ready`)) === 200, {
        timeoutMs: 180_000,
        description: 'the gateway to serve the first champion',
      });
      const first = await json<{
        model: { version: number; sha256: string };
        predictions: { class: string }[];
      }>(`${services.inference.url}/predict`, { method: 'POST', body: { features: IRIS_ROW } });
      expect(first.status).toBe(200);
      expect(first.body.model.version).toBe(1);
      expect(first.body.predictions[0].class).toBe('Iris-virginica');

      const feedback = [
        { features: IRIS_ROW, label: 'Iris-virginica' },
        { features: [5.0, 3.4, 1.5, 0.2], label: 'Iris-setosa' },
        { features: [6.0, 2.9, 4.5, 1.5], label: 'Iris-versicolor' },
      ];
      for (const sample of feedback) {
        expect(
          (await json(`${services.inference.url}/feedback`, { method: 'POST', body: sample })).status,
        ).toBe(202);
      }
      await waitFor(
        async () =>
          (await json<unknown[]>(`${services.data.url}/datasets/iris/feedback?state=pending`)).body.length ===
          3,
        { timeoutMs: 30_000, description: 'the data service to store the forwarded feedback' },
      );
      const commit = await json<{ version: { id: string; parentId: string; rowCount: number } }>(
        `${services.data.url}/datasets/iris/feedback/commit`,
        { method: 'POST' },
      );
      expect(commit.status).toBe(201);
      expect(commit.body.version.parentId).toBe(firstVersion);
      expect(commit.body.version.rowCount).toBe(153);
      const secondVersion = commit.body.version.id;

      const retrain = await json(`${services.trainer.url}/train`, {
        method: 'POST',
        body: { dataset: 'iris', version: secondVersion, grid: SMALL_GRID },
      });
      expect(retrain.status).toBe(202);
      let served = first.body.model.version;
      await waitFor(
        async () => {
          const answer = await json<{ model: { version: number } }>(`${services.inference.url}/predict`, {
            method: 'POST',
            body: { features: IRIS_ROW },
          });
          expect(answer.status).toBe(200);
          served = answer.body.model.version;
          return served === 2;
        },
        { timeoutMs: 180_000, description: 'the gateway to serve the retrained model' },
      );
      const lineage = await json<{ datasetVersion: string; run: { id: string } }>(
        `${services.registry.url}/models/IrisModel/versions/${served}/lineage`,
      );
      expect(lineage.status).toBe(200);
      expect(lineage.body.datasetVersion).toBe(secondVersion);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${report()}`);
    }
  }, 420_000);
});
