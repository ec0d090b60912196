/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { spawnSync } from 'node:child_process';
import { connect } from 'amqplib';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, Subscription, Topology } from '@sepal/messaging';
import { createTestBus, sleep, uniqueNamespace, waitFor } from '@sepal/testing';
import { MODEL_PROMOTED_QUEUE } from '../../apps/inference/src';
import {
  AMQP_URL,
  deleteTestQueues,
  IRIS_LABELS,
  IRIS_RUN_ID,
  irisOnnx,
  PublishedVersion,
  startTestGateway,
  TestRegistry,
} from './fixtures';
import { findBinary, INSTALL_HINT } from '../monitoring/monitoring-files';

const MODEL = 'IrisModel';
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

jest.setTimeout(30_000);

const promtool = findBinary('promtool');
/** Without promtool the check is skipped visibly (never passed), except in CI, where it fails with the hint. */
const withPromtool = promtool || process.env.CI === 'true' ? it : it.skip;
if (withPromtool === it.skip) console.warn(`skipping \`promtool check metrics\`: ${INSTALL_HINT}`);

/*
 * The gateway reads the real registry (apps/registry, listening on a free port of 127.0.0.1) over HTTP and hears its
 * promotions through the registry's outbox relay: on real services both use a real PostgreSQL database (the
 * registry's) and RabbitMQ; on the embedded adapters the registry uses PGlite in memory and both share the
 * process's in-process broker (AMQP_URL unset, same SEPAL_NAMESPACE).
 */
describe.each(['real services', 'embedded adapters'] as const)('inference gateway on %s', (mode) => {
  const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
  let app: NestFastifyApplication;
  let registry: TestRegistry;
  let namespace: string;
  let bus: EventBus;
  /** Publishes what the registry would: the gateway's own bus may publish only the gateway's events. */
  let registryEvents: EventBus;
  let feedbackSubscription: Subscription;
  let servedSubscription: Subscription;
  const feedbackEvents: EventEnvelope[] = [];
  const servedEvents: EventEnvelope<typeof EventNames.ModelServed>[] = [];
  const versions: PublishedVersion[] = [];

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown, headers?: Record<string, string>) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload: payload as string, headers: { 'x-sepal-client': '1', ...headers } });
  const served = async () => (await http('POST', '/predict', { features: ROW })).json().model?.version;
  const metric = async (pattern: RegExp) => {
    const match = pattern.exec((await http('GET', '/metrics')).body);
    return match ? Number(match[1]) : 0;
  };
  /** Moves the registry's champion (PUT /models/:name/aliases/champion): its outbox relay sends model.promoted. */
  const promote = async (version: PublishedVersion, previousVersion: number | null) => {
    const move = await registry.promote(MODEL, version.version);
    expect(move).toEqual({ alias: 'champion', version: version.version, previousVersion });
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('inf');
    registry = await new TestRegistry().start({ amqpUrl, namespace });
    app = await startTestGateway(
      registry.url,
      { amqpUrl, namespace },
      { MAX_BATCH_ROWS: '50', MAX_BODY_BYTES: '8192', INFERENCE_REPLICA_ID: 'gateway-it-1' },
    );
    bus = app.get(EventBus);
    registryEvents = createTestBus(namespace, amqpUrl);
    feedbackSubscription = await bus.subscribe(
      { queue: 'test.feedback', patterns: [EventNames.FeedbackReceived] },
      async (envelope) => {
        feedbackEvents.push(envelope);
      },
    );
    // A queue of its own next to the registry's: every model.served the gateway publishes reaches both.
    servedSubscription = await bus.subscribe(
      { queue: 'test.served', patterns: [EventNames.ModelServed] },
      async (envelope) => {
        servedEvents.push(envelope as EventEnvelope<typeof EventNames.ModelServed>);
      },
    );
    // Versions 1..5 of one run differ in their decision boundaries, so their probabilities differ.
    await registry.createRun(IRIS_RUN_ID);
    for (let shift = 0; shift < 5; shift++)
      versions.push(await registry.register(MODEL, irisOnnx({ shift: shift * 0.5 }), IRIS_RUN_ID));
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
  }, 60_000);

  afterAll(async () => {
    await feedbackSubscription?.close();
    await servedSubscription?.close();
    await registryEvents?.close();
    await app?.close();
    await registry?.stop();
    if (mode === 'real services')
      await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE, 'test.feedback', 'test.served']);
  });

  it('answers 503 and is not ready until a champion exists, then loads it in the background', async () => {
    const early = () => http('POST', '/predict', { features: ROW });
    expect((await early()).statusCode).toBe(503);
    await waitFor(async () => /has no champion/.test((await early()).json().message), { timeoutMs: 5000 });
    expect((await early()).json().message).toMatch(
      /^no model is being served yet: the registry at http:\/\/127\.0\.0\.1:\d+ has no champion for IrisModel yet$/,
    );
    const ready = await http('GET', '/health/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.model.status).toBe('down');
    expect(ready.json().checks.broker.status).toBe('up');
    expect((await http('GET', '/v2/health/ready')).statusCode).toBe(503);

    await promote(versions[0], null);
    await waitFor(async () => (await http('GET', '/health/ready')).statusCode === 200, { timeoutMs: 10_000 });
    expect((await http('GET', '/v2/health/ready')).json()).toEqual({ ready: true });
    expect(await served()).toBe(1);
  });

  it('predicts one row or a batch, named or in model order, with the model that produced it', async () => {
    const one = await http('POST', '/predict', { features: ROW });
    expect(one.statusCode).toBe(200);
    const body = one.json();
    expect(body.model).toEqual({
      name: MODEL,
      version: 1,
      sha256: versions[0].sha256,
      runId: IRIS_RUN_ID,
      datasetVersion: 'd'.repeat(64),
    });
    expect(body.predictions).toHaveLength(1);
    const [prediction] = body.predictions;
    expect(prediction.class).toBe('Iris-setosa');
    expect(prediction.classIndex).toBe(0);
    expect(Object.keys(prediction.probabilities)).toEqual(IRIS_LABELS);
    const total = Object.values(prediction.probabilities as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    expect(total).toBeCloseTo(1, 5);

    const batch = (
      await http('POST', '/predict', { instances: [ROW, [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.8, 2.3]] })
    ).json();
    expect(batch.predictions.map((p: { class: string }) => p.class)).toEqual([
      'Iris-setosa',
      'Iris-setosa',
      'Iris-virginica',
    ]);
    expect(batch.predictions[1].probabilities).toEqual(prediction.probabilities);
  });

  it('gives every prediction an id, in the body per row and the first in X-Prediction-Id', async () => {
    const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const one = await http('POST', '/predict', { features: ROW });
    const [row] = one.json().predictions;
    expect(row.predictionId).toMatch(uuidV7);
    expect(one.headers['x-prediction-id']).toBe(row.predictionId);

    const batch = await http('POST', '/predict', { instances: [ROW, ROW, ROW] });
    const ids = batch.json().predictions.map((p: { predictionId: string }) => p.predictionId);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(uuidV7);
    expect(ids).not.toContain(row.predictionId);
    expect(batch.headers['x-prediction-id']).toBe(ids[0]);

    // The seeds' flat form carries the id at the top level too, beside class_name.
    const flat = await http('POST', '/predict', ROW);
    expect(flat.json()).toMatchObject({
      class_name: 'Iris-setosa',
      predictionId: flat.json().predictions[0].predictionId,
    });
    expect(flat.headers['x-prediction-id']).toBe(flat.json().predictionId);

    // OIP: one id per row in parameters.prediction_ids; `id` echoes the request's, else is the first prediction id.
    const tensor = {
      name: 'features',
      shape: [2, 4],
      datatype: 'FP32',
      data: [...Object.values(ROW), 6.7, 3, 5.8, 2.3],
    };
    const named = await http('POST', `/v2/models/${MODEL}/infer`, { id: 'req-ids', inputs: [tensor] });
    const oipIds = named.json().parameters.prediction_ids as string[];
    expect(named.json().id).toBe('req-ids');
    expect(oipIds).toHaveLength(2);
    for (const id of oipIds) expect(id).toMatch(uuidV7);
    expect(named.headers['x-prediction-id']).toBe(oipIds[0]);
    const anonymous = (await http('POST', `/v2/models/${MODEL}/infer`, { inputs: [tensor] })).json();
    expect(anonymous.id).toBe(anonymous.parameters.prediction_ids[0]);
  });

  it.each([
    [
      'a missing feature',
      { features: { sepal_length: 5, sepal_width: 3, petal_length: 1 } },
      422,
      /^features: missing required feature\(s\) petal_width/,
    ],
    ['an extra feature', { features: { ...ROW, colour: 3 } }, 400, /^features: unknown feature\(s\) colour/],
    [
      'a non-numeric value',
      { instances: [ROW, ROW, { ...ROW, petal_width: 'wide' }] },
      400,
      /^instances\[2\]\.petal_width: must be a finite number/,
    ],
    [
      'a non-finite value',
      '{"features": [5.1, 3.5, 1e999, 0.2]}',
      400,
      /^features\[2\] \(petal_length\): must be a finite number \(got Infinity\)/,
    ],
    [
      'a wrong array length',
      {
        instances: [
          [1, 2, 3, 4],
          [1, 2, 3],
        ],
      },
      400,
      /^instances\[1\]: expected 4 values in model order/,
    ],
    ['an empty batch', { instances: [] }, 400, /^instances: must contain at least one row/],
    [
      'a batch over MAX_BATCH_ROWS',
      { instances: new Array(51).fill([1, 2, 3, 4]) },
      400,
      /^instances: 51 rows is more than the maximum of 50/,
    ],
    [
      'a body over MAX_BODY_BYTES',
      { instances: new Array(2000).fill([1, 2, 3, 4]) },
      413,
      /^body: larger than the limit of 8192 bytes \(MAX_BODY_BYTES\)/,
    ],
    ['malformed JSON', '{"features": [1, 2,', 400, /^body: malformed JSON/],
    ['a wrong content type', 'features=1,2,3,4', 415, /^body: unsupported content type/],
  ])('rejects %s with %s… and a message naming the field', async (_what, payload, status, message) => {
    const headers =
      status === 415
        ? { 'content-type': 'text/plain' }
        : typeof payload === 'string'
          ? { 'content-type': 'application/json' }
          : undefined;
    const response = await http('POST', '/predict', payload, headers);
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(message);
    expect((await http('GET', '/health/live')).statusCode).toBe(200);
  });

  it('round-trips the Open Inference Protocol (v2)', async () => {
    expect((await http('GET', '/v2/health/live')).json()).toEqual({ live: true });
    const meta = (await http('GET', `/v2/models/${MODEL}`)).json();
    expect(meta).toMatchObject({
      name: MODEL,
      versions: ['1'],
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect((await http('GET', `/v2/models/${MODEL}/ready`)).json()).toEqual({ name: MODEL, ready: true });
    const infer = await http('POST', `/v2/models/${MODEL}/infer`, {
      id: 'req-7',
      inputs: [
        { name: 'features', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.8, 2.3] },
      ],
    });
    expect(infer.statusCode).toBe(200);
    const response = infer.json();
    expect(response).toMatchObject({ model_name: MODEL, model_version: '1', id: 'req-7' });
    const [probabilities, label, className] = response.outputs;
    expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [2, 3] });
    expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
    expect(className.data).toEqual(['Iris-setosa', 'Iris-virginica']);
    const rest = (await http('POST', '/predict', { features: [5.1, 3.5, 1.4, 0.2] })).json().predictions[0];
    expect(probabilities.data.slice(0, 3)).toEqual(IRIS_LABELS.map((l) => rest.probabilities[l]));

    const unknown = await http('GET', '/v2/models/Other');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/unknown model 'Other'/);
    const bad = await http('POST', `/v2/models/${MODEL}/infer`, {
      inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error:
        'inputs[0].shape: expected [N, 4] (sepal_length, sepal_width, petal_length, petal_width), got [1,3]',
    });
  });

  it('hot-reloads on model.promoted while requests run: every request succeeds and answers switch to the new version', async () => {
    const seen: number[][] = [[], [], [], [], [], [], [], []];
    const failures: string[] = [];
    let stop = false;
    const workers = seen.map(async (log) => {
      while (!stop) {
        const response = await http('POST', '/predict', { instances: [ROW, [6.7, 3.0, 5.8, 2.3]] });
        if (response.statusCode !== 200) failures.push(`${response.statusCode} ${response.body}`);
        else log.push(response.json().model.version);
      }
    });
    // Every worker has an answer from v1 before the promotion: the checks below start from it.
    await waitFor(() => seen.every((log) => log.length > 0), {
      timeoutMs: 10_000,
      description: 'an answer to every worker',
    });
    await promote(versions[1], 1);
    await waitFor(() => seen.every((log) => log.at(-1) === 2), {
      timeoutMs: 10_000,
      description: 'every worker on v2',
    });
    await sleep(50);
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    for (const log of seen) {
      expect(log[0]).toBe(1);
      expect(log.indexOf(2)).toBeGreaterThan(0);
      expect(log.slice(log.indexOf(2)).every((v) => v === 2)).toBe(true);
    }
    const metrics = (await http('GET', '/metrics')).body;
    expect(metrics).toContain(
      `sepal_model_info{model="${MODEL}",version="2",sha256="${versions[1].sha256}"} 1`,
    );
    // The swap is announced to the platform (the registry completes the job's `served` step with it).
    await waitFor(() => servedEvents.some((e) => e.payload.version === 2), {
      timeoutMs: 10_000,
      description: 'model.served for v2',
    });
    const announced = servedEvents.filter((e) => e.payload.version === 2);
    expect(announced).toHaveLength(1);
    expect(announced[0].payload).toEqual({
      modelName: MODEL,
      version: 2,
      sha256: versions[1].sha256,
      replica: 'gateway-it-1',
      at: expect.any(String),
    });
    expect(servedEvents.map((e) => e.payload.version)).toEqual([1, 2]);
    expect(metrics).not.toContain(`sepal_model_info{model="${MODEL}",version="1"`);
    expect(metrics).toMatch(
      new RegExp(`sepal_predictions_total\\{model="${MODEL}",version="1",class="Iris-setosa"\\} \\d+`),
    );
  });

  it('serializes two promotions in quick succession: the later promotion wins, also back to an older version', async () => {
    await promote(versions[2], 2);
    await promote(versions[3], 3);
    await waitFor(async () => (await served()) === 4, { timeoutMs: 10_000 });
    // A rollback: moving the champion back to v2 is the latest promotion, so v2 is served.
    await promote(versions[1], 4);
    await waitFor(async () => (await served()) === 2, {
      timeoutMs: 10_000,
      description: 'the rollback to v2',
    });
    // An event older than the latest promotion (e.g. redelivered late) is skipped.
    const skippedBefore = await metric(/sepal_model_reloads_total\{result="skipped"\} (\d+)/);
    await registryEvents.publish(EventNames.ModelPromoted, {
      modelName: MODEL,
      alias: 'champion',
      version: versions[3].version,
      sha256: versions[3].sha256,
      artifactUrl: `${registry.url}/artifacts/${versions[3].sha256}`,
      previousVersion: 3,
      reason: 'stale',
      promotedBy: 'test',
      promotedAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    await waitFor(
      async () => (await metric(/sepal_model_reloads_total\{result="skipped"\} (\d+)/)) > skippedBefore,
      { timeoutMs: 10_000, description: 'the stale event to be skipped' },
    );
    await sleep(300);
    expect(await served()).toBe(2);
  });

  it('keeps the old version serving when the artifact is corrupted, and counts the failure', async () => {
    const failuresBefore = await metric(/sepal_model_reloads_total\{result="failure"\} (\d+)/);
    // The registry's stored copy of v5 is damaged on disk: it still announces and serves it under its SHA-256.
    const restore = await registry.corruptArtifact(versions[4].sha256);
    try {
      await promote(versions[4], 2);
      await waitFor(
        async () =>
          (await metric(/sepal_model_reloads_total\{result="failure"\} (\d+)/)) === failuresBefore + 1,
        {
          timeoutMs: 10_000,
        },
      );
      expect(await served()).toBe(2);
      expect((await http('GET', '/health/ready')).statusCode).toBe(200);
    } finally {
      await restore();
    }
  });

  it('reloads the champion on demand (POST /admin/reload), e.g. once a failed artifact is repaired', async () => {
    // v5 is still the registry's champion; its load failed while the stored file was damaged, and is now repaired.
    const reload = await http('POST', '/admin/reload');
    expect(reload.statusCode).toBe(200);
    expect(reload.json()).toMatchObject({
      result: 'success',
      model: { version: 5 },
      previous: { version: 2 },
    });
    expect(await served()).toBe(5);
    expect((await http('POST', '/admin/reload')).json()).toMatchObject({ result: 'skipped' });
    // Back to v2 for the tests below.
    await promote(versions[1], 5);
    await waitFor(async () => (await served()) === 2, { timeoutMs: 10_000 });
  });

  it('forwards feedback as feedback.received and answers 202 with an id', async () => {
    const response = await http('POST', '/feedback', { features: ROW, label: 'Iris-setosa' });
    expect(response.statusCode).toBe(202);
    const { id } = response.json();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => feedbackEvents.length === 1, { timeoutMs: 10_000 });
    expect(feedbackEvents[0].payload).toMatchObject({
      feedbackId: id,
      // The key the gateway saw (keys off: anonymous), which the data service records and rate-limits by.
      submittedBy: 'anonymous',
      dataset: 'iris',
      features: ROW,
      label: 'Iris-setosa',
      modelName: MODEL,
      modelVersion: 2,
    });
    const bad = await http('POST', '/feedback', { features: [1, 2, 3], label: 'Iris-setosa' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^features: expected 4 values/);
    const unknownClass = await http('POST', '/feedback', { features: ROW, label: 'Iris-nope' });
    expect(unknownClass.json().message).toBe("label: unknown class 'Iris-nope'");
    await sleep(100);
    expect(feedbackEvents).toHaveLength(1);
  });

  if (mode === 'real services') {
    it('dead-letters an invalid model.promoted with the reason and keeps serving', async () => {
      const connection = await connect(AMQP_URL);
      const channel = await connection.createChannel();
      const envelope = {
        messageId: `bad-${namespace}`,
        type: EventNames.ModelPromoted,
        timestamp: new Date().toISOString(),
        correlationId: 'c-1',
        payload: { modelName: MODEL, alias: 'champion', version: -3, sha256: 'nope' },
      };
      channel.publish(
        new Topology(namespace).exchange,
        EventNames.ModelPromoted,
        Buffer.from(JSON.stringify(envelope)),
        {
          messageId: envelope.messageId,
          contentType: 'application/json',
        },
      );
      await channel.close();
      await connection.close();
      await waitFor(async () => (await bus.deadLetterCount(MODEL_PROMOTED_QUEUE)) === 1, {
        timeoutMs: 10_000,
      });
      const [dead] = await bus.deadLetters(MODEL_PROMOTED_QUEUE);
      expect(dead.error).toMatch(/invalid model\.promoted: .*version/);
      expect(await served()).toBe(2);
    });
  }

  it('exposes the HTTP, prediction and model metrics', async () => {
    const scrape = (await http('GET', '/metrics')).body;
    for (const name of [
      'http_requests_total{method="POST",route="/predict",status="200"}',
      'http_request_duration_seconds_bucket{le="0.001",method="POST",route="/predict",status="200"}',
      'sepal_inference_duration_seconds_count',
      'sepal_prediction_rows_bucket',
      'sepal_model_reloads_total{result="success"}',
      'sepal_model_served_reports_total{result="success"}',
      `sepal_model_info{model="${MODEL}",version="2"`,
    ]) {
      expect(scrape).toContain(name);
    }
  });

  withPromtool('exposes metrics that pass promtool check metrics', async () => {
    if (!promtool) throw new Error(INSTALL_HINT);
    const scrape = (await http('GET', '/metrics')).body;
    const checked = spawnSync(promtool, ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    expect({ status: checked.status, output: `${checked.stdout}${checked.stderr}` }).toEqual({
      status: 0,
      output: '',
    });
  });
});
