/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createRng } from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE, ModelManager } from '../../apps/inference/src';
import {
  AMQP_URL,
  deleteTestQueues,
  IRIS_LABELS,
  IRIS_RUN_ID,
  irisOnnx,
  PublishedVersion,
  startTestGateway,
  TestRegistry,
  WINE_FEATURES,
  WINE_LABELS,
  WINE_RUN_ID,
  wineOnnx,
} from './fixtures';

const IRIS = 'IrisModel';
const WINE = 'WineQuality';
const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const WINE_ROW = Object.fromEntries(
  WINE_FEATURES.map((name, i) => [name, [7.4, 0.7, 0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4][i]]),
);

jest.setTimeout(120_000);

/** The gateway draws each request's version of a split with Math.random: the split test seeds it with this. */
const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);

/*
 * One gateway, several models, read from the real registry: on real services a real PostgreSQL database and
 * RabbitMQ; on the embedded adapters PGlite in memory and the in-process broker.
 */
describe.each(['real services', 'embedded adapters'] as const)('multi-model gateway on %s', (mode) => {
  const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
  let app: NestFastifyApplication;
  let registry: TestRegistry;
  let namespace: string;
  const iris: PublishedVersion[] = [];
  const wine: PublishedVersion[] = [];

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload: payload as string, headers: { 'x-sepal-client': '1' } });
  const servedVersion = async (model: string) =>
    (await http('POST', `/predict/${model}`, { features: model === IRIS ? IRIS_ROW : WINE_ROW })).json().model
      ?.version;
  const metrics = async () => (await http('GET', '/metrics')).body;
  const manager = () => app.get(ModelManager);

  beforeAll(async () => {
    console.log(`multi-model.test seed ${SEED} (SEPAL_TEST_SEED to replay)`);
    namespace = uniqueNamespace('mm');
    registry = await new TestRegistry().start({ amqpUrl, namespace });
    await registry.createRun(IRIS_RUN_ID);
    await registry.createRun(WINE_RUN_ID, 'wine', 'wine-quality');
    for (let shift = 0; shift < 3; shift++)
      iris.push(await registry.register(IRIS, irisOnnx({ shift: shift * 2 }), IRIS_RUN_ID));
    for (let shift = 0; shift < 2; shift++)
      wine.push(await registry.register(WINE, wineOnnx({ shift: shift * 0.5 }), WINE_RUN_ID));
    await registry.promote(IRIS, 1);
    app = await startTestGateway(registry.url, { amqpUrl, namespace }, { MAX_LOADED_MODELS: '4' });
    await waitFor(async () => (await servedVersion(IRIS)) === 1, {
      timeoutMs: 20_000,
      description: 'iris v1',
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await registry?.stop();
    if (mode === 'real services')
      await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE]);
  });

  it('serves a model promoted for the first time without a restart, each by its own route', async () => {
    const before = await http('POST', `/predict/${WINE}`, { features: WINE_ROW });
    expect(before.statusCode).toBe(503);
    expect(before.json().message).toMatch(/has no champion for WineQuality yet/);
    await registry.promote(WINE, 1);
    await waitFor(async () => (await servedVersion(WINE)) === 1, {
      timeoutMs: 20_000,
      description: 'wine v1',
    });

    const answer = (await http('POST', `/predict/${WINE}`, { features: WINE_ROW })).json();
    expect(answer.model).toMatchObject({ name: WINE, version: 1, sha256: wine[0].sha256 });
    expect(WINE_LABELS).toContain(answer.predictions[0].class);
    expect((await http('POST', '/predict', { features: IRIS_ROW })).json().model.name).toBe(IRIS);

    const index = (await http('POST', '/v2/repository/index', {})).json();
    expect(index).toEqual(
      expect.arrayContaining([
        { name: IRIS, version: '1', state: 'READY', reason: 'champion' },
        { name: WINE, version: '1', state: 'READY', reason: 'champion' },
      ]),
    );
    const meta = (await http('GET', `/v2/models/${WINE}`)).json();
    expect(meta).toMatchObject({ name: WINE, versions: ['1'], inputs: [{ shape: [-1, 11] }] });
    const infer = await http('POST', `/v2/models/${WINE}/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 11], data: Object.values(WINE_ROW) }],
    });
    expect(infer.json()).toMatchObject({ model_name: WINE, model_version: '1' });

    const feedback = await http('POST', `/feedback/${WINE}`, { features: WINE_ROW, label: 'medium' });
    expect(feedback.statusCode).toBe(202);
    expect(feedback.json()).toMatchObject({ dataset: 'wine-quality', label: 'medium' });
    expect(
      (await http('POST', '/feedback', { features: IRIS_ROW, label: IRIS_LABELS[0] })).json(),
    ).toMatchObject({
      dataset: 'iris',
    });
  });

  it('answers the compatibility form with class_name at the top level', async () => {
    const flat = (await http('POST', '/predict', IRIS_ROW)).json();
    expect(flat.class_name).toBe(flat.predictions[0].class);
    expect(IRIS_LABELS).toContain(flat.class_name);
    expect(flat.model).toMatchObject({ name: IRIS, version: 1 });
    const wrapped = (await http('POST', '/predict', { features: IRIS_ROW })).json();
    expect(wrapped).not.toHaveProperty('class_name');
    expect((await http('POST', `/predict/${WINE}`, WINE_ROW)).json().class_name).toMatch(
      /^(low|medium|high)$/,
    );
  });

  it('reloads only the promoted model while requests to both succeed', async () => {
    const irisLoadedAt = manager().find(IRIS).champion.model?.info.loadedAt;
    let stop = false;
    const failures: string[] = [];
    const seen: Record<string, Set<number>> = { [IRIS]: new Set(), [WINE]: new Set() };
    const worker = async (model: string) => {
      while (!stop) {
        const response = await http('POST', `/predict/${model}`, {
          features: model === IRIS ? IRIS_ROW : WINE_ROW,
        });
        if (response.statusCode !== 200) failures.push(`${model}: ${response.statusCode} ${response.body}`);
        else seen[model].add(response.json().model.version);
      }
    };
    const workers = [worker(IRIS), worker(WINE), worker(IRIS), worker(WINE)];
    await registry.promote(WINE, 2);
    await waitFor(() => seen[WINE].has(2), { timeoutMs: 20_000, description: 'wine v2 served' });
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect([...seen[IRIS]]).toEqual([1]);
    expect(manager().find(IRIS).champion.model?.info.loadedAt).toBe(irisLoadedAt);
    const scrape = await metrics();
    expect(scrape).toContain(`sepal_model_info{model="${WINE}",version="2",sha256="${wine[1].sha256}"} 1`);
    expect(scrape).toContain(`sepal_model_info{model="${IRIS}",version="1",sha256="${iris[0].sha256}"} 1`);
    expect(scrape).toMatch(/sepal_loaded_models \d+/);
    expect(scrape).toContain(`sepal_loaded_model_bytes{model="${WINE}",version="2"}`);
  });

  it('splits a model 90/10 between two versions, set through the registry', async () => {
    const refused = await registry.traffic(IRIS, { weights: { '1': 90, '2': 5 } });
    expect(refused.statusCode).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/sum to 100 \(they sum to 95\)/);
    const unknown = await registry.traffic(IRIS, { weights: { '1': 90, '9': 10 } });
    expect(unknown.statusCode).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/has no version 9/);

    const set = await registry.traffic(IRIS, { weights: { '1': 90, '2': 10 }, reason: 'canary' });
    expect(set.statusCode).toBe(200);
    await waitFor(() => manager().find(IRIS).split !== null, {
      timeoutMs: 20_000,
      description: 'split applied',
    });
    const counts = new Map<number, number>();
    // Seeded, so that counts outside the bounds below can be replayed (SEPAL_TEST_SEED) rather than be a one-off.
    const draws = jest.spyOn(Math, 'random').mockImplementation(createRng(SEED));
    try {
      for (let i = 0; i < 2000; i++) {
        const response = await http('POST', `/predict/${IRIS}`, { features: IRIS_ROW });
        expect(response.statusCode).toBe(200);
        const version = response.json().model.version as number;
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
    } finally {
      draws.mockRestore();
    }
    console.log(`${mode}: v2 served ${counts.get(2)} of 2000 requests (seed ${SEED})`);
    expect([...counts.keys()].sort()).toEqual([1, 2]);
    // 10% of 2000 is 200 with a standard deviation of 13.4; 4.5 of them either side.
    expect(counts.get(2)).toBeGreaterThanOrEqual(140);
    expect(counts.get(2)).toBeLessThanOrEqual(260);
    const scrape = await metrics();
    expect(scrape).toContain(`sepal_model_traffic_weight{model="${IRIS}",version="2"} 10`);
    expect(scrape).toMatch(
      new RegExp(`sepal_predictions_total\\{model="${IRIS}",version="2",class="[^"]+"\\} \\d+`),
    );
  });

  it('scores a shadow version off the response path, and a failing shadow leaves answers intact', async () => {
    expect((await registry.traffic(IRIS, { weights: { '1': 100 }, shadow: 3 })).statusCode).toBe(200);
    await waitFor(() => manager().find(IRIS).shadow?.info.version === 3, {
      timeoutMs: 20_000,
      description: 'shadow v3',
    });
    expect(manager().find(IRIS).split).toBeNull();
    // The counters are process-wide (both modes run in one process): compare before and after.
    const counted = async (name: string) =>
      Number(new RegExp(`${name}\\{model="IrisModel",version="3"\\} (\\d+)`).exec(await metrics())?.[1] ?? 0);
    const rowsBefore = await counted('sepal_shadow_rows_total');
    const failuresBefore = await counted('sepal_shadow_failures_total');
    for (let i = 0; i < 50; i++) {
      const answer = (await http('POST', `/predict/${IRIS}`, { features: IRIS_ROW })).json();
      expect(answer.model.version).toBe(1);
    }
    await waitFor(
      async () =>
        /sepal_shadow_agreement_ratio\{model="IrisModel",version="3"\} [\d.]+/.test(await metrics()),
      {
        timeoutMs: 5000,
        description: 'agreement ratio',
      },
    );
    // The shadow runs finish after the answers (off the response path): all 50 are counted shortly.
    await waitFor(async () => (await counted('sepal_shadow_rows_total')) === rowsBefore + 50, {
      timeoutMs: 5000,
      description: '50 shadow rows',
    });
    // v3's boundaries are shifted: some rows disagree, counted by class pair.
    const rows = [
      IRIS_ROW,
      { ...IRIS_ROW, petal_length: 4.5, petal_width: 1.5 },
      { ...IRIS_ROW, petal_length: 6 },
    ];
    for (const row of rows) await http('POST', `/predict/${IRIS}`, { instances: [row, row] });
    await waitFor(
      async () =>
        /sepal_shadow_disagreements_total\{model="IrisModel",version="3",served_class="Iris-virginica",shadow_class="[^"]+"\} \d+/.test(
          await metrics(),
        ),
      { timeoutMs: 5000, description: 'a disagreement counted by class pair' },
    );

    // A shadow that fails: the served answers are the same, the failure is counted.
    const shadow = manager().find(IRIS).shadow!;
    const infer = jest.spyOn(shadow, 'infer').mockRejectedValue(new Error('shadow session broke'));
    try {
      for (let i = 0; i < 20; i++) {
        const response = await http('POST', `/predict/${IRIS}`, { features: IRIS_ROW });
        expect(response.statusCode).toBe(200);
        expect(response.json().model.version).toBe(1);
      }
      await waitFor(async () => (await counted('sepal_shadow_failures_total')) === failuresBefore + 20, {
        timeoutMs: 5000,
        description: 'shadow failures counted',
      });
    } finally {
      infer.mockRestore();
    }
  });

  it('loads any registered version on demand and unloads the least recently used beyond MAX_LOADED_MODELS', async () => {
    // The split ends: v2 and v3 stay loaded, but may now be unloaded (loaded: iris v1, wine v2, iris v2, iris v3).
    expect((await registry.traffic(IRIS, { weights: { '1': 100 } })).statusCode).toBe(200);
    await waitFor(() => manager().find(IRIS).shadow === null, {
      timeoutMs: 20_000,
      description: 'no shadow',
    });
    const unloadsBefore = Number(/sepal_model_unloads_total (\d+)/.exec(await metrics())?.[1] ?? 0);
    // Use v3 so that v2 is the least recently used.
    const v3 = await http('POST', `/v2/models/${IRIS}/versions/3/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Object.values(IRIS_ROW) }],
    });
    expect(v3.json()).toMatchObject({ model_name: IRIS, model_version: '3' });
    const w1 = await http('POST', `/v2/models/${WINE}/versions/1/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 11], data: Object.values(WINE_ROW) }],
    });
    expect(w1.statusCode).toBe(200);
    expect(w1.json()).toMatchObject({ model_name: WINE, model_version: '1' });
    const index = (await http('POST', '/v2/repository/index', { ready: true })).json() as {
      name: string;
      version: string;
    }[];
    const loaded = index.map((entry) => `${entry.name}@${entry.version}`).sort();
    expect(loaded).toEqual([`${IRIS}@1`, `${IRIS}@3`, `${WINE}@1`, `${WINE}@2`]);
    expect(Number(/sepal_model_unloads_total (\d+)/.exec(await metrics())?.[1])).toBe(unloadsBefore + 1);
  });

  it('refuses unknown models and versions with 404 naming them, bad input the same way on every route', async () => {
    const unknown = await http('POST', '/predict/Nope', { features: IRIS_ROW });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toMatch(/unknown model 'Nope'/);
    const oip = await http('POST', '/v2/models/Nope/infer', {});
    expect(oip.statusCode).toBe(404);
    expect(oip.json().error).toMatch(/unknown model 'Nope'/);
    const version = await http('POST', `/v2/models/${IRIS}/versions/99/infer`, {});
    expect(version.statusCode).toBe(404);
    expect(version.json().error).toMatch(/model 'IrisModel' has no version 99/);
    const badVersion = await http('POST', `/v2/models/${IRIS}/versions/x1/infer`, {});
    expect(badVersion.statusCode).toBe(400);
    expect(badVersion.json().error).toMatch(/version: must be a positive integer/);
    expect((await http('POST', '/feedback/Nope', { features: IRIS_ROW, label: 'x' })).statusCode).toBe(404);

    const bad = { features: { ...IRIS_ROW, petal_width: 'wide' } };
    const onDefault = await http('POST', '/predict', bad);
    const onNamed = await http('POST', `/predict/${IRIS}`, bad);
    expect(onDefault.statusCode).toBe(400);
    expect(onNamed.statusCode).toBe(400);
    expect(onNamed.json()).toEqual(onDefault.json());
  });

  it("counts each served model's requests by status class and times them, never an unknown model name", async () => {
    const count = (text: string, model: string, code: string) =>
      Number(
        new RegExp(`sepal_model_requests_total\\{model="${model}",code="${code}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    const timed = (text: string, model: string) =>
      Number(
        new RegExp(`sepal_model_request_duration_seconds_count\\{model="${model}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    const before = await metrics();
    expect(await servedVersion(IRIS)).toBeDefined();
    expect((await http('POST', '/predict', { features: IRIS_ROW })).statusCode).toBe(200);
    const oip = await http('POST', `/v2/models/${IRIS}/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Object.values(IRIS_ROW) }],
    });
    expect(oip.statusCode).toBe(200);
    expect((await http('POST', `/predict/${WINE}`, { features: WINE_ROW })).statusCode).toBe(200);
    const bad = await http('POST', `/predict/${WINE}`, { features: { ...WINE_ROW, alcohol: 'strong' } });
    expect(bad.statusCode).toBe(400);
    expect((await http('POST', '/predict/Nope', { features: IRIS_ROW })).statusCode).toBe(404);
    const after = await metrics();

    expect(count(after, IRIS, '2xx') - count(before, IRIS, '2xx')).toBe(3);
    expect(count(after, IRIS, '4xx') - count(before, IRIS, '4xx')).toBe(0);
    expect(count(after, WINE, '2xx') - count(before, WINE, '2xx')).toBe(1);
    expect(count(after, WINE, '4xx') - count(before, WINE, '4xx')).toBe(1);
    expect(timed(after, IRIS) - timed(before, IRIS)).toBe(3);
    expect(timed(after, WINE) - timed(before, WINE)).toBe(2);
    // Every served model has its three status series from the start; an unknown name never becomes a label.
    expect(after).toMatch(new RegExp(`sepal_model_requests_total\\{model="${WINE}",code="5xx"\\} \\d+`));
    expect(after).not.toMatch(/model="Nope"/);
  });

  it('answers 503 with the reason for a model whose load failed', async () => {
    const broken = await registry.register(
      'Broken',
      irisOnnx({ shift: 9, modelName: 'Broken' }),
      IRIS_RUN_ID,
    );
    const restore = await registry.corruptArtifact(broken.sha256);
    try {
      await registry.promote('Broken', broken.version);
      await waitFor(
        async () => (await http('POST', '/predict/Broken', { features: IRIS_ROW })).statusCode === 503,
        {
          timeoutMs: 20_000,
          description: 'Broken known',
        },
      );
      await waitFor(
        async () =>
          /SHA-256 mismatch/.test((await http('POST', '/predict/Broken', { features: IRIS_ROW })).body),
        { timeoutMs: 20_000, description: 'the load failure as the reason' },
      );
      expect((await http('POST', `/predict/${IRIS}`, { features: IRIS_ROW })).statusCode).toBe(200);
    } finally {
      await restore();
    }
  });
});
