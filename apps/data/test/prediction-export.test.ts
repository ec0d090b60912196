import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventNames, groupLoggedPredictions } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { createTestBus, waitFor } from '@sepal/testing';
import { PredictionLogService } from '../src/prediction-log/prediction-log.service';
import { DATA_TEST_MODES, DataTestApp, SHIPPED_DATA_DIR, startDataTestApp } from './support/data-test-app';
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/*
 * The prediction log into a dataset version, on both adapters: labelled predictions become train rows of a child
 * version whose lineage names the window; a prediction is exported once per dataset (and not at all when its label
 * already came as feedback); the model's own answers only when asked.
 */
describe.each(DATA_TEST_MODES)('prediction log export on %s', (mode) => {
  let data: DataTestApp;
  let app: NestFastifyApplication;
  let bus: EventBus;
  const model = `Exported-${randomUUID().slice(0, 8)}`;
  const ids = Array.from({ length: 6 }, () => randomUUID());

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) => data.http(method, url, payload);

  beforeAll(async () => {
    data = await startDataTestApp(mode, 'predexport', { DATA_DIR: SHIPPED_DATA_DIR });
    app = data.app;
    bus = createTestBus(data.namespace, data.amqpUrl);
    expect((await http('POST', '/datasets/iris/import', {})).statusCode).toBe(201);
    const at = new Date().toISOString();
    const record = (predictionId: string, version: number, inputs: Record<string, number>) => ({
      predictionId,
      model,
      version,
      sha256: 'e'.repeat(64),
      inputs,
      output: { class: 'Iris-setosa', probabilities: { 'Iris-setosa': 1 } },
      latencyMs: 0.5,
      keyName: 'reader',
      at,
    });
    await bus.publish(
      EventNames.PredictionsLogged,
      groupLoggedPredictions([
        record(ids[0], 3, ROW),
        record(ids[1], 3, { ...ROW, sepal_length: 6.3 }),
        record(ids[2], 3, { ...ROW, petal_length: 1.5 }), // never labelled
        record(ids[3], 3, { sepal_length: 5 }), // inputs that do not fit the dataset
        record(ids[4], 3, { ...ROW, petal_width: 0.3 }), // labelled through the dataset's feedback
        record(ids[5], 4, ROW), // another version
      ]),
    );
    await waitFor(async () => (await http('GET', `/predictions?model=${model}`)).json().items?.length === 6, {
      timeoutMs: 15_000,
      description: '6 logged',
    });
    const log = app.get(PredictionLogService);
    await log.label(ids[0], 'Iris-setosa');
    await log.label(ids[1], 'Iris-virginica');
    await log.label(ids[3], 'Iris-setosa');
    await log.label(ids[5], 'Iris-setosa');
    const feedback = await http('POST', '/datasets/iris/feedback', {
      features: { ...ROW, petal_width: 0.3 },
      label: 'Iris-setosa',
      predictionId: ids[4],
    });
    expect(feedback.statusCode).toBe(202);
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await data?.close(['data.feedback', 'data.predictions']);
  });

  it('appends the labelled predictions of a version to the train split, with the window in the lineage', async () => {
    const parent = (await http('GET', '/datasets/iris/versions/latest')).json();
    const response = await http('POST', '/predictions/export', { model, version: 3, dataset: 'iris' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({
      created: true,
      read: 5,
      exported: 2,
      labelled: 2,
      predicted: 0,
      skipped: { unlabelled: 1, alreadyInDataset: 1, invalid: 1 },
    });
    expect(body.problems).toEqual([
      expect.stringMatching(new RegExp(`^${ids[3]}: missing feature\\(s\\): sepal_width`)),
    ]);
    expect(body.version).toMatchObject({
      parentId: parent.id,
      reason: 'prediction-log',
      trainRows: parent.trainRows + 2,
      testRows: parent.testRows,
      source: {
        predictionLog: {
          model,
          version: 3,
          from: null,
          to: null,
          labels: 'labelled',
          predictions: 2,
          labelled: 2,
        },
        exportedBy: 'anonymous',
      },
    });
    const diff = (await http('GET', `/datasets/iris/diff?from=${parent.id}&to=${body.version.id}`)).json();
    expect(diff.rowsAdded).toBe(2);
    expect(diff.added.map((r: { key?: string; features: unknown[] }) => r.features).sort()).toEqual(
      [
        [5.1, 3.5, 1.4, 0.2],
        [6.3, 3.5, 1.4, 0.2],
      ].sort(),
    );
    const audit = (await http('GET', '/datasets/iris/audit')).json();
    expect(audit.at(-1)).toMatchObject({
      action: 'prediction-log-export',
      version: body.version.id,
      actor: 'anonymous',
    });
  });

  it('exports a prediction once per dataset: the same window again is a 422 that says why', async () => {
    const again = await http('POST', '/predictions/export', { model, version: 3, dataset: 'iris' });
    expect(again.statusCode).toBe(422);
    expect(again.json().message).toMatch(
      /1 without a label, 3 already in the dataset, 1 not fitting its schema/,
    );
  });

  it("takes the model's answers as labels only when asked, and says so in the lineage", async () => {
    const response = await http('POST', '/predictions/export', {
      model,
      version: 3,
      dataset: 'iris',
      labels: 'predicted',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ exported: 1, labelled: 0, predicted: 1 });
    expect(response.json().version.source.predictionLog).toMatchObject({ labels: 'predicted', predicted: 1 });
  });

  it('refuses an empty window, an unknown dataset and a limit over the maximum, naming the problem', async () => {
    const empty = await http('POST', '/predictions/export', {
      model,
      dataset: 'iris',
      from: '2001-01-01T00:00:00Z',
      to: '2001-01-02T00:00:00Z',
    });
    expect(empty.statusCode).toBe(422);
    expect(empty.json().message).toMatch(/holds no prediction of/);
    expect((await http('POST', '/predictions/export', { model, dataset: 'nope' })).statusCode).toBe(404);
    const over = await http('POST', '/predictions/export', { model, dataset: 'iris', limit: 100_001 });
    expect(over.statusCode).toBe(400);
    expect(over.body).toMatch(/limit/);
  });
});
