/** The registry's artifacts and models on real services and on the embedded adapters: versions, aliases, gates. */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { EventNames, ModelPromoted } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { sleep, smallOnnxModel, TcpProxy, waitFor } from '@sepal/testing';
import { DATASET_VERSION, registryForTests, sha } from './registry-harness';

jest.setTimeout(30_000);

describe.each(['real services', 'embedded adapters'] as const)('registry on %s', (mode) => {
  const registry = registryForTests(mode);
  const { real, promoted, http, makeKey, upload, newRun } = registry;
  let app: NestFastifyApplication;
  let proxy: TcpProxy | undefined;
  let namespace: string;
  let modelsDir: string;
  let appBus: EventBus;
  let testBus: EventBus;
  beforeAll(() => {
    ({ app, proxy, namespace, modelsDir, appBus, testBus } = registry);
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
      const dataSource = app.get(DataSource);
      const unsent = async (): Promise<{ n: number; attempts: number | null }> =>
        (
          await dataSource.query(
            `SELECT count(*)::int AS n, max(attempts) AS attempts FROM registry.outbox WHERE sent_at IS NULL`,
          )
        )[0];
      // An attempt fails only once REGISTRY_PUBLISH_TIMEOUT_MS (1 s here) has passed without a confirm: wait for it.
      await waitFor(async () => ((await unsent()).attempts ?? 0) > 0, {
        timeoutMs: 15_000,
        description: 'the outbox relay to have tried the unreachable broker',
      });
      expect(promoted).toHaveLength(before);
      expect((await unsent()).n).toBe(1);

      await proxy!.resume();
      await waitFor(() => promoted.length > before, {
        timeoutMs: 15_000,
        description: 'the delayed model.promoted',
      });
      // The row is marked sent once the broker confirmed it, which may come after the delivery itself.
      await waitFor(async () => (await unsent()).n === 0, {
        timeoutMs: 15_000,
        description: 'the outbox row marked sent',
      });
      await sleep(1000);
      expect(promoted).toHaveLength(before + 1);
      expect(promoted.at(-1)!.payload).toMatchObject({ version: 1, previousVersion: 2, reason: 'rollback' });
    },
  );
});
