/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, TestDatabase } from '../../libs/testing/src/test-database';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import {
  InferenceConfig,
  MODEL_PROMOTED_QUEUE,
  MODEL_TRAFFIC_QUEUE,
  startInferenceApp,
} from '../../apps/inference/src';
import { DataConfig, PredictionLogService, startDataApp } from '../../apps/data/src';
import { AMQP_URL, deleteTestQueues, IRIS_RUN_ID, irisOnnx, TestRegistry } from './fixtures';

jest.setTimeout(90_000);

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.8, 2.3];

/*
 * The prediction log end to end: the gateway logs its predictions over the bus (RabbitMQ, or the process's in-process
 * broker) to the data service, which stores them (PostgreSQL, or PGlite); labels sent later through POST /feedback
 * with the prediction id join them and move the live accuracy gauge.
 */
describe.each(['real services', 'embedded adapters'] as const)(
  'prediction log and live quality on %s',
  (mode) => {
    const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
    let gateway: NestFastifyApplication;
    let data: NestFastifyApplication;
    let registry: TestRegistry;
    let db: TestDatabase | undefined;
    let namespace: string;

    const call = (app: NestFastifyApplication, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app
        .getHttpAdapter()
        .getInstance()
        .inject({ method, url, payload: payload as object, headers: { 'x-sepal-client': '1' } });
    const liveAccuracy = async (): Promise<number | null> => {
      await data.get(PredictionLogService).refreshQuality();
      const metrics = (await call(data, 'GET', '/metrics')).body;
      const match = /sepal_live_quality\{model="IrisModel",version="1",metric="accuracy"\} ([\d.e-]+)/.exec(
        metrics,
      );
      return match ? Number(match[1]) : null;
    };

    beforeAll(async () => {
      namespace = uniqueNamespace('predlog');
      db = mode === 'real services' ? await createTestDatabase() : undefined;
      data = await startDataApp(
        DataConfig.load({
          DATABASE_URL: db?.url,
          AMQP_URL: amqpUrl,
          SEPAL_HOME: `memory://data-${namespace}`,
          SEPAL_NAMESPACE: namespace,
          DATA_DIR: join(__dirname, '../../data'),
          FEEDBACK_COMMIT_EVERY: '0',
          LOG_LEVEL: 'error',
        }),
        { listen: false },
      );
      expect((await call(data, 'POST', '/datasets/iris/import', {})).statusCode).toBe(201);
      registry = await new TestRegistry().start({ amqpUrl, namespace });
      await registry.createRun(IRIS_RUN_ID);
      await call(registry.app, 'POST', `/runs/${IRIS_RUN_ID}/metrics`, {
        metrics: [{ key: 'test_accuracy', value: 0.97 }],
      });
      await registry.register('IrisModel', irisOnnx(), IRIS_RUN_ID);
      await registry.promote('IrisModel', 1);
      gateway = await startInferenceApp(
        InferenceConfig.load({
          AMQP_URL: amqpUrl,
          SEPAL_NAMESPACE: namespace,
          REGISTRY_URL: registry.url,
          INFERENCE_HOST: '127.0.0.1',
          INFERENCE_PORT: '0',
          MODEL_SYNC_INTERVAL_MS: '0',
          PREDICTION_LOG_SAMPLE: '1',
          PREDICTION_LOG_FLUSH_MS: '50',
          LOG_LEVEL: 'error',
        }),
      );
      await waitFor(
        async () => (await call(gateway, 'POST', '/predict', { features: SETOSA })).statusCode === 200,
        {
          timeoutMs: 20_000,
          description: 'IrisModel v1 served',
        },
      );
    });

    afterAll(async () => {
      await gateway?.close();
      await data?.close();
      await registry?.stop();
      await closeEmbeddedDatabases();
      await db?.drop();
      if (mode === 'real services')
        await deleteTestQueues(namespace, [
          MODEL_PROMOTED_QUEUE,
          MODEL_TRAFFIC_QUEUE,
          'data.feedback',
          'data.predictions',
        ]);
    });

    it('logs predictions, and labels sent later by id change the live accuracy', async () => {
      const started = new Date().toISOString();
      const answer = (
        await call(gateway, 'POST', '/predict', { instances: [SETOSA, SETOSA, VIRGINICA, VIRGINICA] })
      ).json();
      const ids = answer.predictions.map((row: { predictionId: string }) => row.predictionId) as string[];

      // Logged off the request path: the data service has them shortly after, with inputs, outputs and the model.
      const logged = async () =>
        (
          await call(
            data,
            'GET',
            `/predictions?model=IrisModel&version=1&from=${encodeURIComponent(started)}&limit=1000`,
          )
        ).json().items as {
          predictionId: string;
          inputs: Record<string, number>;
          output: { class: string };
          sha256: string;
          keyName: string;
          label: string | null;
        }[];
      await waitFor(async () => (await logged()).filter((e) => ids.includes(e.predictionId)).length === 4, {
        timeoutMs: 15_000,
        description: 'the four predictions in the log',
      });
      // Ids of one millisecond sort randomly among themselves: put them back in row order.
      const entries = (await logged())
        .filter((e) => ids.includes(e.predictionId))
        .sort((a, b) => ids.indexOf(a.predictionId) - ids.indexOf(b.predictionId));
      expect(entries.map((e) => e.output.class)).toEqual([
        'Iris-setosa',
        'Iris-setosa',
        'Iris-virginica',
        'Iris-virginica',
      ]);
      expect(entries[0].inputs).toEqual({
        sepal_length: 5.1,
        sepal_width: 3.5,
        petal_length: 1.4,
        petal_width: 0.2,
      });
      expect(entries[0].sha256).toBe(answer.model.sha256);
      expect(entries[0].keyName).toBe('anonymous');

      // Paged by the last id; the CSV has one line per prediction.
      const page = (
        await call(data, 'GET', `/predictions?model=IrisModel&from=${encodeURIComponent(started)}&limit=2`)
      ).json();
      expect(page.items).toHaveLength(2);
      const rest = (
        await call(
          data,
          'GET',
          `/predictions?model=IrisModel&from=${encodeURIComponent(started)}&limit=1000&after=${page.next}`,
        )
      ).json();
      expect(rest.items.map((e: { predictionId: string }) => e.predictionId)).not.toContain(
        page.items[0].predictionId,
      );
      const csv = (
        await call(data, 'GET', `/predictions/export.csv?model=IrisModel&from=${encodeURIComponent(started)}`)
      ).body
        .trim()
        .split('\n');
      expect(csv[0]).toBe(
        'prediction_id,at,model,version,sha256,key_name,latency_ms,sepal_length,sepal_width,petal_length,petal_width,prediction,label',
      );
      expect(csv.length).toBeGreaterThanOrEqual(5);

      // Two right labels: accuracy 1. Two wrong ones later: 0.5.
      const label = async (i: number, species: string) =>
        expect(
          (
            await call(gateway, 'POST', '/feedback', {
              features: i < 2 ? SETOSA : VIRGINICA,
              label: species,
              predictionId: ids[i],
            })
          ).statusCode,
        ).toBe(202);
      await label(0, 'Iris-setosa');
      await label(2, 'Iris-virginica');
      await waitFor(async () => (await liveAccuracy()) === 1, {
        timeoutMs: 15_000,
        description: 'live accuracy 1',
      });
      await label(1, 'Iris-versicolor');
      await label(3, 'Iris-versicolor');
      await waitFor(async () => (await liveAccuracy()) === 0.5, {
        timeoutMs: 15_000,
        description: 'live accuracy 0.5',
      });
      const metrics = (await call(data, 'GET', '/metrics')).body;
      expect(metrics).toMatch(/sepal_live_labelled_rows\{model="IrisModel",version="1"\} 4/);
      expect(metrics).toMatch(
        /sepal_live_quality_test_figure\{model="IrisModel",version="1",metric="accuracy"\} 0\.97/,
      );
      // The label joins the logged row too.
      expect((await logged()).find((e) => e.predictionId === ids[3])!.label).toBe('Iris-versicolor');
    });
  },
);
