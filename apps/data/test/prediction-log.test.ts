import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventNames, groupLoggedPredictions } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { createTestBus, waitFor } from '@sepal/testing';
import { PredictionLogService } from '../src/prediction-log/prediction-log.service';
import { DATA_TEST_MODES, DataTestApp, SHIPPED_DATA_DIR, startDataTestApp } from './support/data-test-app';
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/* The data service's side of the prediction log on both adapters: stored once per id, labels by id, retention. */
describe.each(DATA_TEST_MODES)('prediction log of the data service on %s', (mode) => {
  let data: DataTestApp;
  let app: NestFastifyApplication;
  let bus: EventBus;

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) => data.http(method, url, payload);

  beforeAll(async () => {
    data = await startDataTestApp(mode, 'predlogdata', {
      DATA_DIR: SHIPPED_DATA_DIR,
      PREDICTION_LOG_RETENTION_DAYS: '7',
    });
    app = data.app;
    // predictions.logged is the gateway's event: the data app's own bus may not publish it (EVENT_OWNERS).
    bus = createTestBus(data.namespace, data.amqpUrl);
    expect((await http('POST', '/datasets/iris/import', {})).statusCode).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await data?.close(['data.feedback', 'data.predictions']);
  });

  it('stores logged predictions once, joins labels by id into live accuracy, and deletes days past the retention', async () => {
    const at = new Date().toISOString();
    const record = (predictionId: string, predicted: string) => ({
      predictionId,
      model: 'Iris',
      version: 3,
      sha256: 'b'.repeat(64),
      inputs: ROW,
      output: { class: predicted, probabilities: { [predicted]: 1 } },
      latencyMs: 0.5,
      keyName: 'reader',
      at,
      testMetrics: { test_accuracy: 0.9 },
    });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const payload = groupLoggedPredictions(ids.map((id) => record(id, 'Iris-setosa')));
    // Delivered twice (a redelivery): stored once.
    await bus.publish(EventNames.PredictionsLogged, payload);
    await bus.publish(EventNames.PredictionsLogged, payload);
    const list = async () => (await http('GET', '/predictions?model=Iris&version=3&limit=10')).json();
    await waitFor(async () => (await list()).items?.length === 3, {
      timeoutMs: 15_000,
      description: '3 logged',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await list()).items).toHaveLength(3);

    // Labels through the data service's own feedback route: two right, one wrong.
    for (const [i, label] of ['Iris-setosa', 'Iris-setosa', 'Iris-virginica'].entries()) {
      const response = await http('POST', '/datasets/iris/feedback', {
        features: ROW,
        label,
        predictionId: ids[i],
      });
      expect(response.statusCode).toBe(202);
    }
    const service = app.get(PredictionLogService);
    await service.refreshQuality();
    const metrics = (await http('GET', '/metrics')).body;
    expect(metrics).toMatch(/sepal_live_quality\{model="Iris",version="3",metric="accuracy"\} 0\.666/);
    expect(metrics).toMatch(/sepal_live_labelled_rows\{model="Iris",version="3"\} 3/);
    expect(metrics).toMatch(
      /sepal_live_quality_test_figure\{model="Iris",version="3",metric="accuracy"\} 0\.9/,
    );

    // The same figures over REST, each beside its test figure (the console's live quality).
    const quality = (await http('GET', '/predictions/quality?model=Iris')).json();
    expect(quality).toMatchObject({ model: 'Iris', windowMinutes: 1440 });
    expect(quality.versions).toEqual([
      {
        version: 3,
        labelled: 3,
        metrics: [
          { metric: 'accuracy', value: 2 / 3, test: 0.9 },
          { metric: 'macro_f1', value: expect.any(Number), test: null },
        ],
      },
    ]);
    expect((await http('GET', '/predictions/quality?model=Iris&version=4')).json().versions).toEqual([]);

    // Limits are 400s naming the parameter.
    const over = await http('GET', '/predictions?model=Iris&limit=5000');
    expect(over.statusCode).toBe(400);
    expect(over.body).toMatch(/limit/);

    // Eight days on, the retention of 7 days deletes them.
    expect(await service.applyRetention(Date.now() + 8 * 24 * 3_600_000)).toBe(3);
    expect((await list()).items).toHaveLength(0);
  });
});
