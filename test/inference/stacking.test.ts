/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeOnnxMetadata } from '@sepal/contracts';
import {
  createRng,
  exportDenseRegressorToOnnx,
  fitFeaturePreprocessing,
  type FeatureColumn,
} from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import {
  MODEL_PROMOTED_QUEUE,
  MODEL_TRAFFIC_QUEUE,
  ModelManager,
  ModelStacks,
} from '../../apps/inference/src';
import {
  AMQP_URL,
  deleteTestQueues,
  IRIS_FEATURES,
  IRIS_RUN_ID,
  irisOnnx,
  startTestGateway,
  TestRegistry,
  WINE_FEATURES,
  WINE_RUN_ID,
  wineOnnx,
} from './fixtures';

const IRIS_LIKE = ['TenantA', 'TenantB', 'TenantC'];
const WINE = 'WineQuality';
const REGRESSOR = 'WineScore';
const REGRESSOR_COLUMNS: FeatureColumn[] = [
  { name: 'alcohol', type: 'numeric' },
  { name: 'acidity', type: 'numeric' },
];

/** A numeric-only dense regressor (two columns, missing cells imputed in the graph): coalesced, never stacked. */
function regressorOnnx(): Uint8Array {
  const rng = createRng(7);
  const rows = Array.from({ length: 100 }, () => [rng() < 0.1 ? null : 9 + 5 * rng(), 3 + 4 * rng()]);
  const preprocessing = fitFeaturePreprocessing(REGRESSOR_COLUMNS, rows, { standardize: true });
  return exportDenseRegressorToOnnx(
    {
      task: 'regression',
      featureNames: REGRESSOR_COLUMNS.map((c) => c.name),
      preprocessing,
      layers: [
        {
          kernel: Float32Array.of(0.8, -0.5),
          bias: Float32Array.of(5.5),
          inputs: 2,
          units: 1,
          activation: 'linear',
        },
      ],
    },
    encodeOnnxMetadata({
      modelName: REGRESSOR,
      labels: [],
      featureNames: REGRESSOR_COLUMNS.map((c) => c.name),
      runId: WINE_RUN_ID,
      task: 'regression',
      featureColumns: REGRESSOR_COLUMNS.map(({ name }, i) => ({
        name,
        type: 'numeric' as const,
        imputed: preprocessing.medians![i],
        // Alcohol (the first column) had missing cells in training: it may be left out or null; acidity may not.
        missing: i === 0,
      })),
    }),
  );
}
const WINE_ROW = Object.fromEntries(
  WINE_FEATURES.map((name, i) => [name, [7.4, 0.7, 0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4][i]]),
);

jest.setTimeout(120_000);

/** A row of Iris features spread over the classes' range, the same for a given seed. */
function irisRow(seed: number): Record<string, number> {
  const values = [
    4.3 + (seed % 36) / 10,
    2 + (seed % 24) / 10,
    1 + ((seed * 7) % 60) / 10,
    0.1 + ((seed * 3) % 25) / 10,
  ];
  return Object.fromEntries(IRIS_FEATURES.map((name, i) => [name, values[i]]));
}

/*
 * Stacking on the real registry, PostgreSQL and RabbitMQ: three models of one architecture share stacked runs, a
 * model of another architecture runs alone, and a promotion moves a version out of the stack and its successor in
 * while requests to all of them keep succeeding.
 */
describe('stacked models on real services', () => {
  let app: NestFastifyApplication;
  let registry: TestRegistry;
  let namespace: string;

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload: payload as string, headers: { 'x-sepal-client': '1' } });
  const stacks = () => app.get(ModelStacks);
  const champion = (name: string) => app.get(ModelManager).find(name).champion.model!;
  const members = () =>
    stacks()
      .current()
      .flatMap((stack) => stack.members.map((m) => `${m.info.name} v${m.info.version}`));

  beforeAll(async () => {
    namespace = uniqueNamespace('stack');
    registry = await new TestRegistry().start({ amqpUrl: AMQP_URL, namespace });
    await registry.createRun(IRIS_RUN_ID);
    await registry.createRun(WINE_RUN_ID, 'wine', 'wine-quality');
    for (const [i, name] of IRIS_LIKE.entries()) {
      await registry.register(name, irisOnnx({ shift: i * 1.5 - 1.5, modelName: name }), IRIS_RUN_ID);
      await registry.promote(name, 1);
    }
    await registry.register(WINE, wineOnnx(), WINE_RUN_ID);
    await registry.promote(WINE, 1);
    await registry.register(REGRESSOR, regressorOnnx(), WINE_RUN_ID);
    await registry.promote(REGRESSOR, 1);
    app = await startTestGateway(
      registry.url,
      { amqpUrl: AMQP_URL, namespace },
      { MODEL_NAME: IRIS_LIKE[0], PREDICT_STACK_DELAY_MS: '20' },
    );
    await waitFor(async () => members().length === 3, {
      timeoutMs: 30_000,
      description: 'a stack of 3 models',
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await registry?.stop();
    await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE]);
  });

  it("scores the models of one architecture in shared runs, each row with its own model's weights", async () => {
    expect(members().sort()).toEqual(IRIS_LIKE.map((name) => `${name} v1`));
    const [stack] = stacks().current();
    const runsBefore = stack.stackedRuns;
    const requests = Array.from({ length: 300 }, (_, i) => ({ model: IRIS_LIKE[i % 3], row: irisRow(i) }));
    const answers = await Promise.all([
      ...requests.map(({ model, row }) => http('POST', `/predict/${model}`, { features: row })),
      http('POST', `/predict/${WINE}`, { features: WINE_ROW }),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
    expect(stack.stackedRuns).toBeGreaterThan(runsBefore);

    // Each answer is what the row's own model says on its own session.
    for (const [i, { model, row }] of requests.entries()) {
      const own = await champion(model).runSession(Float32Array.from(Object.values(row)), 1);
      const answered = Object.values(
        answers[i].json().predictions[0].probabilities as Record<string, number>,
      );
      answered.forEach((p, c) => expect(Math.abs(p - own.probabilities[c])).toBeLessThan(1e-5));
      expect(answers[i].json().model).toMatchObject({ name: model, version: 1 });
    }
    expect(answers[300].json().model.name).toBe(WINE);
    expect(champion(WINE).stackedIn).toBeNull();
    expect((await http('GET', '/metrics')).body).toMatch(/^sepal_stacked_versions 3$/m);
  });

  it('moves a promoted version into the stack and its predecessor out, failing no request', async () => {
    const promotedModel = IRIS_LIKE[1];
    await registry.register(promotedModel, irisOnnx({ shift: 4, modelName: promotedModel }), IRIS_RUN_ID);
    const old = champion(promotedModel);
    let stop = false;
    const failures: string[] = [];
    const versions = new Set<number>();
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const burst = await Promise.all(
          IRIS_LIKE.map((model, m) => http('POST', `/predict/${model}`, { features: irisRow(i * 3 + m) })),
        );
        for (const [m, response] of burst.entries()) {
          if (response.statusCode !== 200) failures.push(`${response.statusCode} ${response.body}`);
          else if (m === 1) versions.add(response.json().model.version);
        }
      }
    })();
    await registry.promote(promotedModel, 2);
    await waitFor(async () => members().includes(`${promotedModel} v2`), {
      timeoutMs: 30_000,
      description: `${promotedModel} v2 in the stack`,
    });
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(versions).toEqual(new Set([1, 2]));
    expect(members().sort()).toEqual([`${IRIS_LIKE[0]} v1`, `${promotedModel} v2`, `${IRIS_LIKE[2]} v1`]);
    expect(old.stackedIn).toBeNull();
    const answer = (await http('POST', `/predict/${promotedModel}`, { features: irisRow(5) })).json();
    const own = await champion(promotedModel).runSession(Float32Array.from(Object.values(irisRow(5))), 1);
    expect(answer.model.version).toBe(2);
    expect(Object.values(answer.predictions[0].probabilities)).toEqual(
      [...own.probabilities].map((p) => expect.closeTo(p, 5)),
    );
  });

  it('with PREDICT_STACKING=false every model runs on its own session, with the same answers', async () => {
    const plain = await startTestGateway(
      registry.url,
      { amqpUrl: AMQP_URL, namespace: `${namespace}_plain` },
      { MODEL_NAME: IRIS_LIKE[0], PREDICT_STACKING: 'false', PREDICT_STACK_DELAY_MS: '0' },
    );
    try {
      const served = () => [...plain.get(ModelManager).models()].filter((e) => e.champion.model).length;
      await waitFor(async () => served() === 5, { timeoutMs: 20_000, description: '5 models served' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(plain.get(ModelStacks).current()).toEqual([]);
      const ask = (gateway: NestFastifyApplication) =>
        Promise.all(
          IRIS_LIKE.map((model, i) =>
            gateway
              .getHttpAdapter()
              .getInstance()
              .inject({ method: 'POST', url: `/predict/${model}`, payload: { features: irisRow(i) } })
              .then((response) => response.json().predictions[0].probabilities as Record<string, number>),
          ),
        );
      const [alone, stacked] = [await ask(plain), await ask(app)];
      alone.forEach((probabilities, m) =>
        Object.entries(probabilities).forEach(([label, p]) => expect(stacked[m][label]).toBeCloseTo(p, 5)),
      );
    } finally {
      await plain.close();
      await deleteTestQueues(`${namespace}_plain`, [MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE]);
    }
  });

  /** ONNX runs of the regressor so far (sepal_inference_duration_seconds_count). */
  const regressorRuns = async () =>
    Number(
      new RegExp(
        `^sepal_inference_duration_seconds_count\\{model="${REGRESSOR}",version="1"\\} (\\d+)$`,
        'm',
      ).exec((await http('GET', '/metrics')).body)?.[1] ?? NaN,
    );

  it("answers each of a regressor's concurrent requests with its own rows' values (coalesced, not stacked)", async () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({
      alcohol: i % 7 === 0 ? null : 9 + (i % 13) / 3,
      acidity: 3 + (i % 5),
    }));
    const value = (response: { json: () => { predictions: { value: number }[] } }) =>
      response.json().predictions[0].value;
    const alone: number[] = [];
    for (const row of rows) alone.push(value(await http('POST', `/predict/${REGRESSOR}`, { features: row })));
    const runsBefore = await regressorRuns();
    const together = await Promise.all(
      rows.map((row) => http('POST', `/predict/${REGRESSOR}`, { features: row })),
    );
    // Fewer runs than requests: they were coalesced.
    expect((await regressorRuns()) - runsBefore).toBeLessThan(rows.length);
    expect(together.map((response) => response.statusCode)).toEqual(rows.map(() => 200));
    together.forEach((response, i) => expect(value(response)).toBeCloseTo(alone[i], 5));
    expect(new Set(alone).size).toBeGreaterThan(10);
    expect(champion(REGRESSOR).stackedIn).toBeNull();
  });
});
