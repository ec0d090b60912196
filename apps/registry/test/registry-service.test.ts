import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { EventEnvelope, EventNames, ModelPromoted } from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, TestDatabase } from '../../../libs/testing/src/test-database';
import {
  createTestBus,
  deleteNamespace,
  sleep,
  smallOnnxModel,
  TcpProxy,
  uniqueNamespace,
  waitFor,
} from '@sepal/testing';
import { startRegistryApp } from '../src/bootstrap';
import { RegistryConfig } from '../src/registry.config';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');
const DATASET_VERSION = 'd'.repeat(64);

jest.setTimeout(30_000);

const ADMIN_KEY = 'registry-test-admin-key';

describe.each(['real services', 'embedded adapters'] as const)('registry on %s', (mode) => {
  const real = mode === 'real services';
  let app: NestFastifyApplication;
  let db: TestDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let namespace: string;
  let modelsDir: string;
  /** The app's bus (through the proxy on real services). */
  let appBus: EventBus;
  /** A bus straight to the broker (real services) or the app's in-process one: the test's own consumer/producer. */
  let testBus: EventBus;
  let subscription: Subscription;
  const promoted: EventEnvelope<typeof EventNames.ModelPromoted>[] = [];

  /** Secrets of the keys the test makes, by name; every call sends the admin key unless it names another. */
  const secrets: Record<string, string> = { admin: ADMIN_KEY };
  const http = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
    as = 'admin',
  ) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload: payload as object, headers: { 'x-api-key': secrets[as], ...headers } });
  const makeKey = async (name: string, scopes: string[]) => {
    const created = await http('POST', '/keys', { name, scopes });
    expect(created.statusCode).toBe(201);
    secrets[name] = created.json().secret;
  };

  const upload = (content: Buffer, stated = sha(content)) =>
    http('POST', '/artifacts', content as unknown as object, {
      'content-type': 'application/octet-stream',
      'x-content-sha256': stated,
    });

  const newRun = async (body: Record<string, unknown>) => {
    const response = await http('POST', '/runs', { experiment: 'iris', ...body });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string };
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('registry');
    db = real ? await createTestDatabase() : undefined;
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-models-'));
    if (real) {
      const target = new URL(AMQP_URL);
      proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
      await proxy.start();
    }
    const config = RegistryConfig.load({
      DATABASE_URL: db?.url,
      AMQP_URL: proxy ? proxy.proxiedUrl(AMQP_URL) : undefined,
      SEPAL_HOME: `memory://registry-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      MODELS_DIR: modelsDir,
      SEPAL_API_KEY: ADMIN_KEY,
      REGISTRY_PUBLIC_URL: 'http://registry.test:3002/',
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
      REGISTRY_PUBLISH_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'error',
    });
    app = await startRegistryApp(config, { listen: false });
    appBus = app.get(EventBus);
    testBus = createTestBus(namespace, real ? AMQP_URL : undefined);
    subscription = await testBus.subscribe(
      { queue: 'test.promoted', patterns: [EventNames.ModelPromoted] },
      async (envelope) => {
        // Delivery is at least once (the relay resends a row whose confirm came after the publish timeout, as on
        // a loaded machine); like every consumer, this one dedupes by messageId.
        if (promoted.some((seen) => seen.messageId === envelope.messageId)) return;
        promoted.push(envelope as EventEnvelope<typeof EventNames.ModelPromoted>);
      },
    );
  }, 60_000);

  afterAll(async () => {
    await subscription?.close();
    await proxy?.resume();
    await app?.close();
    await testBus?.close();
    await proxy?.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
    if (real)
      await deleteNamespace(AMQP_URL, namespace, ['registry.training', 'registry.jobs', 'test.promoted']);
  });

  it('round-trips a run with 50 metric steps, and refuses bad metric values and unknown runs', async () => {
    const run = await newRun({
      name: 'mlp',
      params: { learning_rate: 0.01, epochs: 50 },
      tags: { reason: 'manual' },
    });
    const points = Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step }));
    const logged = await http('POST', `/runs/${run.id}/metrics`, { metrics: points });
    expect(logged.statusCode).toBe(201);

    const history = (await http('GET', `/runs/${run.id}/metrics/loss`)).json();
    expect(history).toHaveLength(50);
    expect(history.map((p: { step: number }) => p.step)).toEqual(points.map((p) => p.step));
    expect(history.map((p: { value: number }) => p.value)).toEqual(points.map((p) => p.value));

    const finished = await http('PATCH', `/runs/${run.id}`, { status: 'finished', tags: { note: 'ok' } });
    expect(finished.statusCode).toBe(200);
    const shown = (await http('GET', `/runs/${run.id}`)).json();
    expect(shown).toMatchObject({
      experiment: 'iris',
      status: 'finished',
      params: { learning_rate: 0.01, epochs: 50 },
      tags: { reason: 'manual', note: 'ok' },
      metrics: { loss: 1 / 50 },
      childrenCount: 0,
    });
    expect(shown.endTime).not.toBeNull();

    for (const value of ['0.5', null, 'NaN', { x: 1 }]) {
      const bad = await http('POST', `/runs/${run.id}/metrics`, {
        metrics: [{ key: 'loss', value, step: 99 }],
      });
      expect(bad.statusCode).toBe(400);
    }
    expect((await http('GET', `/runs/${run.id}/metrics/loss`)).json()).toHaveLength(50);

    const unknown = randomUUID();
    expect((await http('GET', `/runs/${unknown}`)).statusCode).toBe(404);
    expect((await http('POST', `/runs/${unknown}/metrics`, { metrics: points.slice(0, 1) })).statusCode).toBe(
      404,
    );
    expect((await http('GET', '/experiments/nope')).statusCode).toBe(404);
    expect((await http('POST', '/experiments', { name: 'iris' })).statusCode).toBe(409);
    expect((await http('POST', '/runs', { experiment: 'iris', parentRunId: unknown })).statusCode).toBe(404);
  });

  it('creates a run idempotently with a client-chosen id', async () => {
    const runId = randomUUID();
    const first = await http('POST', '/runs', { experiment: 'idempotent', runId, params: { a: 1 } });
    const again = await http('POST', '/runs', { experiment: 'idempotent', runId, params: { a: 2 } });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json().params).toEqual({ a: 1 });
  });

  it('applies training events in any order and idempotently, with nothing retried or dead-lettered', async () => {
    const parentRunId = randomUUID();
    const runId = randomUUID();
    const startedAt = new Date().toISOString();
    const started = (id: string, parent: string | null) => ({
      runId: id,
      parentRunId: parent,
      experiment: 'events',
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
      params: { units: 8 },
      backend: 'cpu',
      startedAt,
    });
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    try {
      // The reverse of the order a trainer publishes in: the run's end, its progress, the trial's start, the sweep's.
      await testBus.publish(EventNames.RunFinished, {
        runId,
        status: 'finished',
        metrics: { accuracy: 0.97 },
        tags: { selected: 'true' },
        endedAt: new Date().toISOString(),
      });
      for (let step = 3; step >= 1; step--) {
        const messageId = `progress-${namespace}-${step}`;
        const payload = { runId, step, metrics: { loss: 1 / step }, timestamp: new Date().toISOString() };
        await testBus.publish(EventNames.TrainingProgress, payload, { messageId });
        await testBus.publish(EventNames.TrainingProgress, payload, { messageId }); // a redelivery
      }
      await testBus.publish(EventNames.TrainingStarted, started(runId, parentRunId), {
        correlationId: 'corr-1',
      });
      await testBus.publish(EventNames.TrainingStarted, started(parentRunId, null));
      await waitFor(async () => (await http('GET', `/runs/${runId}`)).json().status === 'finished', {
        timeoutMs: 10_000,
      });
      await waitFor(async () => (await http('GET', `/runs/${parentRunId}`)).statusCode === 200, {
        timeoutMs: 10_000,
      });
      const run = (await http('GET', `/runs/${runId}`)).json();
      expect(run).toMatchObject({
        parentRunId,
        dataset: 'iris',
        datasetVersion: DATASET_VERSION,
        backend: 'cpu',
        correlationId: 'corr-1',
        tags: { selected: 'true' },
        metrics: { accuracy: 0.97, loss: 1 / 3 },
      });
      expect((await http('GET', `/runs/${runId}/metrics/loss`)).json()).toHaveLength(3);
      expect((await http('GET', `/runs/${parentRunId}`)).json().childrenCount).toBe(1);
      expect(await appBus.deadLetterCount('registry.training')).toBe(0);
      expect(warnings.mock.calls.filter(([message]) => /registry\.training/.test(String(message)))).toEqual(
        [],
      );
    } finally {
      warnings.mockRestore();
    }
  });

  it('dead-letters a training.started with more tags than REGISTRY_MAX_TAGS, with the reason, and makes no run', async () => {
    const runId = randomUUID();
    const experiment = `over-limit-${namespace}`;
    const tags = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
    const messageId = await testBus.publish(EventNames.TrainingStarted, {
      runId,
      parentRunId: null,
      experiment,
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
      params: { units: 8 },
      tags,
      backend: 'cpu',
      startedAt: new Date().toISOString(),
    });
    await waitFor(async () => (await appBus.deadLetterCount('registry.training')) === 1, {
      timeoutMs: 10_000,
    });
    const [deadLetter] = await appBus.deadLetters('registry.training');
    expect(deadLetter.envelope?.messageId).toBe(messageId);
    expect(deadLetter.error).toContain('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)');
    // Refused on its first delivery (permanent), and nothing of it written: no run, no experiment.
    expect(deadLetter.attempts).toBe(1);
    expect((await http('GET', `/runs/${runId}`)).statusCode).toBe(404);
    expect((await http('GET', `/experiments/${experiment}`)).statusCode).toBe(404);
  });

  it('searches runs with filters, ordering and paging, and rejects a malformed filter with its position', async () => {
    const experiment = 'search';
    const specs = [
      { lr: '0.01', reason: 'feedback', accuracy: 0.95, f1: 0.91 },
      { lr: '0.01', reason: 'feedback', accuracy: 0.93, f1: 0.94 },
      { lr: '0.1', reason: 'feedback', accuracy: 0.96, f1: 0.97 },
      { lr: '0.01', reason: 'manual', accuracy: 0.99, f1: 0.99 },
      { lr: '0.01', reason: 'feedback', accuracy: 0.8, f1: 0.85 },
    ];
    const ids: string[] = [];
    for (const [i, s] of specs.entries()) {
      const run = await newRun({
        experiment,
        name: `r${i}`,
        params: { learning_rate: s.lr },
        tags: { reason: s.reason },
      });
      await http('POST', `/runs/${run.id}/metrics`, {
        metrics: [
          { key: 'accuracy', value: 0.5, step: 0 },
          { key: 'accuracy', value: s.accuracy, step: 1 },
          { key: 'f1', value: s.f1, step: 1 },
        ],
      });
      ids.push(run.id);
    }
    const search = (params: Record<string, string>) =>
      http('GET', `/runs?${new URLSearchParams({ experiment, ...params })}`);
    const filter = "metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'";
    const found = (await search({ filter, orderBy: 'metrics.f1 DESC' })).json();
    expect(found.runs.map((r: { id: string }) => r.id)).toEqual([ids[1], ids[0]]);
    expect(found.nextPageToken).toBeNull();

    const firstPage = (await search({ orderBy: 'metrics.accuracy DESC', limit: '2' })).json();
    expect(firstPage.runs.map((r: { id: string }) => r.id)).toEqual([ids[3], ids[2]]);
    const rest = (
      await search({ orderBy: 'metrics.accuracy DESC', limit: '2', pageToken: firstPage.nextPageToken })
    ).json();
    expect(rest.runs.map((r: { id: string }) => r.id)).toEqual([ids[0], ids[1]]);
    const last = (
      await search({ orderBy: 'metrics.accuracy DESC', limit: '2', pageToken: rest.nextPageToken })
    ).json();
    expect(last).toEqual({ runs: [expect.objectContaining({ id: ids[4] })], nextPageToken: null });

    const malformed = await search({ filter: 'metrics.accuracy > AND tags.x = 1' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/malformed filter: .* at character 19$/);
    expect(malformed.json().details.position).toBe(19);
    const injection = await search({ filter: "tags.reason = 'x'' OR 1=1; --'" });
    expect(injection.statusCode).toBe(200);
    expect(injection.json().runs).toEqual([]);
    expect((await search({ orderBy: 'metrics.f1 SIDEWAYS' })).statusCode).toBe(400);
  });

  it('answers 400 naming the comparison for an ill-typed filter of each kind of key, never a 500', async () => {
    const search = (filter: string) => http('GET', `/runs?${new URLSearchParams({ filter })}`);
    const illTyped: [string, { key: string; operator: string; value: string }, RegExp][] = [
      ['attributes.status = 1', { key: 'attributes.status', operator: '=', value: '1' }, /quote the value/],
      [
        "status IN ('finished', 'done')",
        { key: 'status', operator: 'IN', value: "('finished', 'done')" },
        /'done' is not a run status/,
      ],
      ['run_name = 7', { key: 'run_name', operator: '=', value: '7' }, /run_name is text/],
      [
        "attributes.dataset < 'iris'",
        { key: 'attributes.dataset', operator: '<', value: "'iris'" },
        /does not apply/,
      ],
      [
        "start_time > 'yesterday'",
        { key: 'start_time', operator: '>', value: "'yesterday'" },
        /not a timestamp/,
      ],
      ['end_time < 1e20', { key: 'end_time', operator: '<', value: '1e20' }, /not a timestamp/],
      ["metrics.accuracy = 'high'", { key: 'metrics.accuracy', operator: '=', value: "'high'" }, /numbers/],
      [
        "params.learning_rate < '0.1'",
        { key: 'params.learning_rate', operator: '<', value: "'0.1'" },
        /unquoted/,
      ],
      ['tags.reason = 1', { key: 'tags.reason', operator: '=', value: '1' }, /tag 'reason' is text/],
    ];
    for (const [filter, comparison, why] of illTyped) {
      const response = await search(filter);
      expect({ filter, status: response.statusCode }).toEqual({ filter, status: 400 });
      const body = response.json();
      expect(body.message.startsWith(`ill-typed filter: ${filter}: `)).toBe(true);
      expect(body.message).toMatch(why);
      expect(body.details).toMatchObject({ input: filter, ...comparison });
    }
    const nul = await search("tags.reason = 'a\0'");
    expect(nul.statusCode).toBe(400);
    // Refused before the filter parser, like a NUL anywhere in any request (libs/http refuse-unstorable-characters).
    expect(nul.json().message).toMatch(/^query\.filter contains a NUL character/);
  });

  it('runs well-typed filters on every kind of key: IN lists, numeric params, timestamps', async () => {
    const experiment = 'typed';
    const since = Date.now() - 1000;
    const a = await newRun({
      experiment,
      name: 'typed-a',
      params: { epochs: 10 },
      tags: { reason: 'feedback' },
    });
    const b = await newRun({
      experiment,
      name: 'typed-b',
      params: { epochs: 5 },
      tags: { reason: 'manual' },
    });
    await http('POST', `/runs/${a.id}/metrics`, { metrics: [{ key: 'f1', value: 0.7, step: 1 }] });
    await http('POST', `/runs/${b.id}/metrics`, { metrics: [{ key: 'f1', value: 0.6, step: 1 }] });
    await http('PATCH', `/runs/${a.id}`, { status: 'finished' });
    const ids = async (filter: string, orderBy = 'start_time ASC') => {
      const response = await http('GET', `/runs?${new URLSearchParams({ experiment, filter, orderBy })}`);
      expect({ filter, status: response.statusCode }).toEqual({ filter, status: 200 });
      return response.json().runs.map((r: { id: string }) => r.id);
    };
    expect(await ids("status IN ('finished', 'failed')")).toEqual([a.id]);
    expect(await ids("status NOT IN ('finished')")).toEqual([b.id]);
    expect(await ids('params.epochs >= 10')).toEqual([a.id]);
    expect(await ids("params.epochs = '5'")).toEqual([b.id]);
    expect(await ids("tags.reason NOT IN ('manual')")).toEqual([a.id]);
    expect(await ids('metrics.f1 IN (0.6, 0.9)')).toEqual([b.id]);
    expect(await ids(`run_name LIKE 'typed-%' AND start_time >= ${since}`)).toEqual([a.id, b.id]);
    expect(await ids(`start_time >= '${new Date(since).toISOString()}'`, 'run_name DESC')).toEqual([
      b.id,
      a.id,
    ]);
    expect(await ids("end_time < '2000-01-01'")).toEqual([]);
  });

  it('stores artifacts content-addressed once, verifies the stated hash and serves the bytes with it', async () => {
    const content = smallOnnxModel(`onnx bytes ${namespace}`);
    const first = await upload(content);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({
      sha256: sha(content),
      size: content.length,
      url: `/artifacts/${sha(content)}`,
      uploadedBy: 'admin',
    });
    const refused = await upload(Buffer.from(`not onnx ${namespace}`));
    expect(refused.statusCode).toBe(422);
    expect(refused.json().message).toMatch(
      /^the artifact is not an acceptable ONNX model: not an ONNX model/,
    );
    expect((await upload(content)).statusCode).toBe(200);

    const other = Buffer.from('something else');
    const mismatch = await upload(
      other,
      sha(content).replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
    );
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().message).toMatch(/SHA-256 mismatch/);
    expect((await http('GET', `/artifacts/${sha(other)}`)).statusCode).toBe(404);

    const download = await http('GET', `/artifacts/${sha(content)}`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['x-content-sha256']).toBe(sha(content));
    expect(Number(download.headers['content-length'])).toBe(content.length);
    expect(download.rawPayload.equals(content)).toBe(true);
    expect(await readdir(join(modelsDir, sha(content).slice(0, 2)))).toEqual([sha(content)]);
  });

  let modelRun: { id: string };
  let shaV1: string;
  let shaV2: string;

  it('registers versions, promotes the champion with exactly one model.promoted, audits it and shows lineage', async () => {
    const sweep = await newRun({
      experiment: 'models',
      name: 'grid',
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
    });
    modelRun = await newRun({
      experiment: 'models',
      parentRunId: sweep.id,
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
    });
    await http('POST', `/runs/${modelRun.id}/metrics`, { metrics: [{ key: 'f1', value: 0.9, step: 1 }] });
    const v1 = smallOnnxModel(`model v1 ${namespace}`);
    const v2 = smallOnnxModel(`model v2 ${namespace}`);
    shaV1 = sha(v1);
    shaV2 = sha(v2);
    await upload(v1);
    await upload(v2);

    expect((await http('POST', '/models', { name: 'iris-classifier', description: 'MLP' })).statusCode).toBe(
      201,
    );
    expect((await http('POST', '/models', { name: 'iris-classifier' })).statusCode).toBe(409);
    const missing = await http('POST', '/models/iris-classifier/versions', {
      runId: modelRun.id,
      sha256: 'e'.repeat(64),
    });
    expect(missing.statusCode).toBe(422);
    const noRun = await http('POST', '/models/iris-classifier/versions', {
      runId: randomUUID(),
      sha256: shaV1,
    });
    expect(noRun.statusCode).toBe(404);

    const created = await http('POST', '/models/iris-classifier/versions', {
      runId: modelRun.id,
      sha256: shaV1,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'iris-classifier',
      version: 1,
      runId: modelRun.id,
      sha256: shaV1,
      size: v1.length,
      artifactUrl: `http://registry.test:3002/artifacts/${shaV1}`,
      metrics: { f1: 0.9 },
    });
    const second = await http('POST', '/models/iris-classifier/versions', {
      runId: modelRun.id,
      sha256: shaV2,
      metrics: { f1: 0.95 },
    });
    expect(second.json().version).toBe(2);

    expect((await http('GET', '/models/iris-classifier/aliases/champion')).statusCode).toBe(404);
    expect((await http('PUT', '/models/iris-classifier/aliases/champion', { version: 9 })).statusCode).toBe(
      404,
    );
    expect((await http('PUT', '/models/nope/aliases/champion', { version: 1 })).statusCode).toBe(404);
    expect(
      (await http('PUT', '/models/iris-classifier/aliases/champion', { version: 'two' })).statusCode,
    ).toBe(400);

    await makeKey('alice', ['promote']);
    await makeKey('bob', ['promote', 'read']);
    const claimed = await http('PUT', '/models/iris-classifier/aliases/champion', {
      version: 1,
      by: 'mallory',
    });
    expect(claimed.statusCode).toBe(400);
    expect(claimed.json().message).toMatch(/by/);
    const first = await http(
      'PUT',
      '/models/iris-classifier/aliases/champion',
      { version: 1, reason: 'first' },
      {},
      'alice',
    );
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ alias: 'champion', version: 1, previousVersion: null });
    const move = await http(
      'PUT',
      '/models/iris-classifier/aliases/champion',
      { version: 2, reason: 'better f1' },
      {},
      'bob',
    );
    expect(move.json()).toEqual({ alias: 'champion', version: 2, previousVersion: 1 });

    await waitFor(() => promoted.length >= 2, {
      timeoutMs: 10_000,
      description: 'two model.promoted events',
    });
    await sleep(500);
    expect(promoted).toHaveLength(2);
    const payload: ModelPromoted = promoted[1].payload;
    expect(payload).toMatchObject({
      modelName: 'iris-classifier',
      alias: 'champion',
      version: 2,
      sha256: shaV2,
      artifactUrl: `http://registry.test:3002/artifacts/${shaV2}`,
      previousVersion: 1,
      reason: 'better f1',
      promotedBy: 'bob',
    });

    expect((await http('GET', '/models/iris-classifier/aliases/champion')).json()).toMatchObject({
      version: 2,
      sha256: shaV2,
    });
    const model = (await http('GET', '/models/iris-classifier')).json();
    expect(model.aliases).toEqual({ champion: 2 });
    expect(model.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const audit = (await http('GET', '/models/iris-classifier/audit')).json();
    expect(
      audit.map((a: { fromVersion: number | null; toVersion: number; by: string; reason: string }) => [
        a.fromVersion,
        a.toVersion,
        a.by,
        a.reason,
      ]),
    ).toEqual([
      [null, 1, 'alice', 'first'],
      [1, 2, 'bob', 'better f1'],
    ]);

    const lineage = (await http('GET', '/models/iris-classifier/versions/2/lineage')).json();
    expect(lineage).toMatchObject({
      model: 'iris-classifier',
      version: 2,
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
    });
    expect(lineage.run.id).toBe(modelRun.id);
    expect(lineage.parentRun.id).toBe(sweep.id);
  });

  it("sets a model's promotion gate per model, audits every change and refuses a bad one naming the field", async () => {
    expect((await http('POST', '/models', { name: 'wine-gate' })).statusCode).toBe(201);
    await makeKey('reader', ['read']);
    const unset = await http('GET', '/models/wine-gate/gate');
    expect(unset.statusCode).toBe(200);
    expect(unset.json()).toEqual({ model: 'wine-gate', gate: null, updatedAt: null, updatedBy: null });

    const gate = {
      metric: 'test_accuracy',
      direction: 'up',
      floor: 0.5,
      reason: 'wine quality tops out near 0.6',
    };
    expect((await http('PUT', '/models/wine-gate/gate', { ...gate, by: 'mallory' })).statusCode).toBe(400);
    expect((await http('PUT', '/models/wine-gate/gate', gate, {}, 'reader')).statusCode).toBe(403);
    const set = await http('PUT', '/models/wine-gate/gate', gate, {}, 'alice');
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({
      gate: { metric: 'test_accuracy', direction: 'up', floor: 0.5, margin: 0 },
      updatedBy: 'alice',
    });
    await http('PUT', '/models/wine-gate/gate', {
      metric: 'test_rmse',
      direction: 'down',
      floor: null,
      margin: 0.01,
    });
    expect((await http('GET', '/models/wine-gate/gate')).json()).toMatchObject({
      gate: { metric: 'test_rmse', direction: 'down', floor: null, margin: 0.01 },
      updatedBy: 'admin',
    });
    const history = (await http('GET', '/models/wine-gate/gate/history')).json() as {
      by: string;
      reason: string;
    }[];
    expect(history.map(({ by, reason }) => [by, reason])).toEqual([
      ['alice', 'wine quality tops out near 0.6'],
      ['admin', ''],
    ]);

    const bad = await http('PUT', '/models/wine-gate/gate', {
      metric: 'test accuracy',
      direction: 'sideways',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/metric/);
    expect(bad.body).toMatch(/direction/);
    const unknown = await http('PUT', '/models/no-such-model/gate', {
      metric: 'test_rmse',
      direction: 'down',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toMatch(/unknown model 'no-such-model'/);
  });

  it('serialises concurrent moves of one alias: each is audited and none is lost', async () => {
    const moves = await Promise.all(
      [1, 2, 1, 2, 1, 2].map((version, i) =>
        http('PUT', '/models/iris-classifier/aliases/challenger', {
          version,
          reason: `move ${i}`,
        }),
      ),
    );
    expect(moves.map((m) => m.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    const audit = (await http('GET', '/models/iris-classifier/audit?alias=challenger')).json();
    expect(audit).toHaveLength(6);
    for (let i = 1; i < audit.length; i++) expect(audit[i].fromVersion).toBe(audit[i - 1].toVersion);
    expect(audit[0].fromVersion).toBeNull();
    const final = (await http('GET', '/models/iris-classifier')).json().aliases.challenger;
    expect(final).toBe(audit[5].toVersion);
  });

  it('creates a version from model.registered once, even when delivered twice', async () => {
    const payload = {
      modelName: 'iris-from-events',
      version: 1,
      runId: modelRun.id,
      sha256: shaV1,
      artifactUrl: `http://elsewhere/artifacts/${shaV1}`,
      metrics: { accuracy: 0.97 },
      registeredAt: new Date().toISOString(),
    };
    const messageId = `registered-${namespace}`;
    await testBus.publish(EventNames.ModelRegistered, payload, { messageId });
    await testBus.publish(EventNames.ModelRegistered, payload);
    await waitFor(async () => (await http('GET', '/models/iris-from-events/versions/1')).statusCode === 200, {
      timeoutMs: 10_000,
    });
    await sleep(300);
    const model = (await http('GET', '/models/iris-from-events')).json();
    expect(model.versions).toHaveLength(1);
    expect(model.versions[0]).toMatchObject({ sha256: shaV1, metrics: { f1: 0.9, accuracy: 0.97 } });
  });

  (real ? it : it.skip)(
    'keeps a promotion made while the broker is unreachable and delivers it once it is back',
    async () => {
      const before = promoted.length;
      await proxy!.interrupt();
      await waitFor(() => !appBus.isConnected(), { timeoutMs: 5000 });
      const move = await http('PUT', '/models/iris-classifier/aliases/champion', {
        version: 1,
        reason: 'rollback',
      });
      expect(move.statusCode).toBe(200);
      expect(move.json()).toEqual({ alias: 'champion', version: 1, previousVersion: 2 });
      await sleep(1500);
      expect(promoted).toHaveLength(before);
      const dataSource = app.get(DataSource);
      const [pending] = await dataSource.query(
        `SELECT count(*)::int AS n, max(attempts) AS attempts FROM registry.outbox WHERE sent_at IS NULL`,
      );
      expect(pending.n).toBe(1);
      expect(pending.attempts).toBeGreaterThan(0);

      await proxy!.resume();
      await waitFor(() => promoted.length > before, {
        timeoutMs: 15_000,
        description: 'the delayed model.promoted',
      });
      await sleep(1000);
      expect(promoted).toHaveLength(before + 1);
      expect(promoted.at(-1)!.payload).toMatchObject({ version: 1, previousVersion: 2, reason: 'rollback' });
      const [after] = await dataSource.query(
        `SELECT count(*)::int AS n FROM registry.outbox WHERE sent_at IS NULL`,
      );
      expect(after.n).toBe(0);
    },
  );
});
