import { createHash, randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { createTestBus, sleep, smallOnnxModel, uniqueNamespace, waitFor } from '@sepal/testing';
import { AMQP_URL, inject, Services, startServices, startTrainer } from './support/services';

jest.setTimeout(60_000);

/*
 * drift.detected against the real data service and registry: the trainer asks the registry for the champion's lineage
 * and the data service for the dataset's latest version, and requests a retrain only when they differ.
 */
describe.each(['real services', 'embedded adapters'] as const)('drift alerts on %s', (mode) => {
  const real = mode === 'real services';
  let services: Services;
  let trainer: NestFastifyApplication;
  let bus: EventBus;
  let observer: Subscription;
  const requested: EventEnvelope<typeof EventNames.TrainRequested>[] = [];

  const call = async (
    app: NestFastifyApplication,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ) => {
    const response = await inject(app, method, url, payload, headers);
    if (response.statusCode >= 300)
      throw new Error(`${method} ${url} answered ${response.statusCode}: ${response.body}`);
    return response;
  };
  /** The metric is process-wide (both modes run in one process): counts since this mode's start. */
  const baseline = { retrain: 0, skipped: 0 };
  const counted = async (action: 'retrain' | 'skipped') => {
    const scrape = (await call(trainer, 'GET', '/metrics')).body;
    const match = new RegExp(
      `sepal_drift_alerts_total\\{model="IrisModel",action="${action}"\\} (\\d+)`,
    ).exec(scrape);
    return match ? Number(match[1]) : 0;
  };
  const alerts = async (action: 'retrain' | 'skipped') => (await counted(action)) - baseline[action];
  const alert = () =>
    bus.publish(EventNames.DriftDetected, {
      modelName: 'IrisModel',
      version: 1,
      features: [{ name: 'petal_length', psi: 0.5 }],
      threshold: 0.2,
      detectedAt: new Date().toISOString(),
    });

  beforeAll(async () => {
    const namespace = uniqueNamespace('drift');
    services = await startServices(namespace, { real });
    const imported = (await call(services.data, 'POST', '/datasets/iris/import', {})).json();
    // A champion trained on that version, registered the way the trainer does (run, artifact, version, alias).
    const runId = randomUUID();
    await call(services.registry, 'POST', '/runs', {
      experiment: 'iris',
      runId,
      dataset: 'iris',
      datasetVersion: imported.version.id,
    });
    const bytes = smallOnnxModel(`model of ${runId}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await call(services.registry, 'POST', '/artifacts', bytes, {
      'content-type': 'application/octet-stream',
      'x-content-sha256': sha256,
    });
    const { version } = (
      await call(services.registry, 'POST', '/models/IrisModel/versions', { runId, sha256 })
    ).json();
    await call(services.registry, 'PUT', '/models/IrisModel/aliases/champion', { version, reason: 'test' });

    trainer = await startTrainer(services, {
      LOG_LEVEL: 'error',
      RETRAIN_ON_FEEDBACK: 'false',
      // The retrain this test asks for stops at once (too few rows): only the request matters here.
      MIN_TRAIN_ROWS: '1000000',
    });
    bus = createTestBus(namespace, real ? AMQP_URL : undefined); // alerts as the gateway sends them
    baseline.retrain = await counted('retrain');
    baseline.skipped = await counted('skipped');
    observer = await bus.subscribe(
      { queue: 'test.observer', patterns: [EventNames.TrainRequested] },
      async (envelope) => {
        requested.push(envelope as EventEnvelope<typeof EventNames.TrainRequested>);
      },
    );
  }, 60_000);

  afterAll(async () => {
    await observer?.close();
    await bus?.close();
    await trainer?.close();
    await services?.close();
  });

  it('skips a retrain while the champion was trained on the latest version, and counts the alert', async () => {
    await alert();
    await waitFor(async () => (await alerts('skipped')) === 1, {
      timeoutMs: 10_000,
      description: 'the alert to be skipped',
    });
    await sleep(300);
    expect(requested).toEqual([]);
    expect(await alerts('retrain')).toBe(0);
  });

  it('requests a retrain on the newer version once feedback made one', async () => {
    await call(services.data, 'POST', '/datasets/iris/feedback', {
      features: [5.1, 3.5, 1.4, 0.2],
      label: 'Iris-setosa',
    });
    const { version } = (await call(services.data, 'POST', '/datasets/iris/feedback/commit')).json();
    await alert();
    await waitFor(() => requested.length === 1, { timeoutMs: 10_000, description: 'train.requested' });
    expect(requested[0].payload).toMatchObject({
      dataset: 'iris',
      version: version.id,
      modelName: 'IrisModel',
      reason: 'drift',
    });
    // The alert is counted once its train.requested is published: wait for the count, not just the event.
    await waitFor(async () => (await alerts('retrain')) === 1, {
      timeoutMs: 10_000,
      description: 'the retrain count',
    });
    expect(await alerts('skipped')).toBe(1);
  });
});
