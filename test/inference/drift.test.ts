/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { createRng, fitPsiReference } from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { MODEL_PROMOTED_QUEUE } from '../../apps/inference/src';
import {
  AMQP_URL,
  deleteTestQueues,
  IRIS_FEATURES,
  IRIS_RUN_ID,
  irisOnnx,
  PublishedVersion,
  startTestGateway,
  TestRegistry,
} from './fixtures';

const MODEL = 'IrisModel';
const DRIFT_QUEUE = 'test.drift';

jest.setTimeout(30_000);

/** Iris-like rows (seeded): the "training" distribution, or one whose petal length moved by `petalShift` cm. */
function irisRows(count: number, seed: number, petalShift = 0): number[][] {
  const rng = createRng(seed);
  const around = (mean: number, spread: number) => mean + spread * (rng() + rng() + rng() - 1.5);
  return Array.from({ length: count }, () => [
    around(5.8, 1.6),
    around(3.0, 0.8),
    around(3.8, 3.0) + petalShift,
    around(1.2, 1.4),
  ]);
}

const training = irisRows(2000, 1);
const featureReference = IRIS_FEATURES.map((_, j) =>
  fitPsiReference(
    training.map((row) => row[j]),
    10,
  ),
);

/*
 * Drift monitoring end to end: a model whose ONNX metadata carries the training reference is served from the real
 * registry; rows like the training data keep the PSI low, shifted rows raise it, /metrics shows
 * sepal_feature_drift_psi and the gateway publishes drift.detected (heard here on a queue of our own). A newly promoted
 * version starts with an empty window.
 */
describe.each(['real services', 'embedded adapters'] as const)(
  'feature drift in the gateway on %s',
  (mode) => {
    const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
    let app: NestFastifyApplication;
    let registry: TestRegistry;
    let namespace: string;
    let subscription: Subscription;
    const driftEvents: EventEnvelope<typeof EventNames.DriftDetected>[] = [];
    const versions: PublishedVersion[] = [];

    const http = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app
        .getHttpAdapter()
        .getInstance()
        .inject({ method, url, payload: payload as string, headers: { 'x-sepal-client': '1' } });
    /** sepal_feature_drift_psi by feature, for one version, from GET /metrics (empty: no series). */
    const driftGauge = async (version: number) => {
      const body = (await http('GET', '/metrics')).body;
      const series: Record<string, number> = {};
      const pattern = new RegExp(
        `^sepal_feature_drift_psi\\{model="${MODEL}",version="${version}",feature="([a-z_]+)"\\} (\\S+)$`,
        'gm',
      );
      for (const match of body.matchAll(pattern)) series[match[1]] = Number(match[2]);
      return series;
    };
    const predictInBatches = async (rows: number[][]) => {
      for (let i = 0; i < rows.length; i += 50) {
        const response = await http('POST', '/predict', { instances: rows.slice(i, i + 50) });
        expect(response.statusCode).toBe(200);
      }
    };
    const inferOip = async (rows: number[][]) => {
      for (let i = 0; i < rows.length; i += 50) {
        const batch = rows.slice(i, i + 50);
        const response = await http('POST', `/v2/models/${MODEL}/infer`, {
          inputs: [{ name: 'features', shape: [batch.length, 4], datatype: 'FP32', data: batch.flat() }],
        });
        expect(response.statusCode).toBe(200);
      }
    };

    beforeAll(async () => {
      namespace = uniqueNamespace('drift');
      registry = await new TestRegistry().start({ amqpUrl, namespace });
      app = await startTestGateway(
        registry.url,
        { amqpUrl, namespace },
        {
          DRIFT_WINDOW_ROWS: '400',
          DRIFT_MIN_ROWS: '200',
          DRIFT_EVAL_INTERVAL_MS: '100',
        },
      );
      subscription = await app
        .get(EventBus)
        .subscribe({ queue: DRIFT_QUEUE, patterns: [EventNames.DriftDetected] }, async (envelope) => {
          driftEvents.push(envelope as EventEnvelope<typeof EventNames.DriftDetected>);
        });
      await registry.createRun(IRIS_RUN_ID);
      for (let shift = 0; shift < 2; shift++)
        versions.push(
          await registry.register(MODEL, irisOnnx({ shift: shift * 0.5, featureReference }), IRIS_RUN_ID),
        );
      await registry.promote(MODEL, versions[0].version);
      await waitFor(async () => (await http('GET', '/health/ready')).statusCode === 200, {
        timeoutMs: 10_000,
      });
    }, 60_000);

    afterAll(async () => {
      await subscription?.close();
      await app?.close();
      await registry?.stop();
      if (mode === 'real services') await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE, DRIFT_QUEUE]);
    });

    it('reports no PSI until the window holds DRIFT_MIN_ROWS rows, then a low PSI for rows like the training data', async () => {
      await predictInBatches(irisRows(150, 2));
      expect(await driftGauge(1)).toEqual({});
      await predictInBatches(irisRows(250, 3));
      const psi = await driftGauge(1);
      expect(Object.keys(psi).sort()).toEqual([...IRIS_FEATURES].sort());
      for (const value of Object.values(psi)) expect(value).toBeLessThan(0.1);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few background evaluations
      expect(driftEvents).toEqual([]);
    });

    it('raises the PSI of a shifted feature on /metrics and publishes one drift.detected', async () => {
      await inferOip(irisRows(400, 4, 3));
      const psi = await driftGauge(1);
      expect(psi.petal_length).toBeGreaterThan(0.2);
      expect(psi.sepal_length).toBeLessThan(0.1);
      // The same figures, readable: GET /models/{name}/drift (the console's drift page).
      const view = (await http('GET', `/models/${MODEL}/drift?version=1`)).json();
      expect(view.versions).toHaveLength(1);
      expect(view.versions[0]).toMatchObject({ version: 1, windowRows: 400, minRows: 200 });
      const petal = view.versions[0].features.find((f: { name: string }) => f.name === 'petal_length');
      expect(petal.psi).toBeGreaterThan(0.2);
      expect(petal.live).toHaveLength(petal.reference.length);
      expect((await http('GET', `/models/${MODEL}/drift?version=99`)).statusCode).toBe(404);
      expect((await http('GET', '/models/NoSuchModel/drift')).statusCode).toBe(404);
      await waitFor(() => driftEvents.length > 0, { timeoutMs: 5000, description: 'drift.detected' });
      const [event] = driftEvents;
      expect(event.type).toBe(EventNames.DriftDetected);
      expect(event.payload).toMatchObject({ modelName: MODEL, version: 1, threshold: 0.2 });
      expect(event.payload.features.map((f) => f.name)).toEqual(['petal_length']);
      expect(event.payload.features[0].psi).toBeGreaterThan(0.2);
      // The cooldown (default one hour) holds further events back while the drift persists.
      await predictInBatches(irisRows(100, 5, 3));
      await http('GET', '/metrics');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(driftEvents).toHaveLength(1);
    });

    it('starts a fresh window for a newly promoted version', async () => {
      await registry.promote(MODEL, versions[1].version);
      await waitFor(
        async () =>
          (await http('POST', '/predict', { instances: irisRows(1, 6) })).json().model.version === 2,
        { timeoutMs: 10_000, description: 'v2 served' },
      );
      expect(await driftGauge(1)).toEqual({});
      expect(await driftGauge(2)).toEqual({});
      await predictInBatches(irisRows(250, 7));
      expect(Object.keys(await driftGauge(2))).toHaveLength(4);
    });
  },
);
