import Fastify, { FastifyInstance } from 'fastify';
import { InferenceMetrics, ModelRequests } from '../metrics/inference-metrics.service';
import { ModelTrafficHook } from './model-traffic';

const metrics = new InferenceMetrics();

const value = async (name: string, labels: Record<string, string>): Promise<number> => {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const found = metric.values.find(
    (entry) =>
      ((entry as { metricName?: string }).metricName ?? name) ===
        (name.endsWith('_seconds') ? `${name}_count` : name) &&
      Object.entries(labels).every(([key, label]) => entry.labels[key] === label),
  );
  return found?.value ?? 0;
};

describe('per-model request metrics', () => {
  it('starts every status class of a model at 0 and counts by class, one handle per model', async () => {
    const requests = metrics.requestsOf('unit-a');
    expect(metrics.requestsOf('unit-a')).toBe(requests);
    for (const code of ['2xx', '4xx', '5xx'])
      expect(await value('sepal_model_requests_total', { model: 'unit-a', code })).toBe(0);
    requests.record(200, 0.001);
    requests.record(400, 0.002);
    requests.record(413, 0.002);
    requests.record(503, 0.5);
    expect(await value('sepal_model_requests_total', { model: 'unit-a', code: '2xx' })).toBe(1);
    expect(await value('sepal_model_requests_total', { model: 'unit-a', code: '4xx' })).toBe(2);
    expect(await value('sepal_model_requests_total', { model: 'unit-a', code: '5xx' })).toBe(1);
    expect(await value('sepal_model_request_duration_seconds', { model: 'unit-a' })).toBe(4);
  });

  it('exposes a cumulative histogram, a value on a bound counting in that bucket', async () => {
    const requests = metrics.requestsOf('unit-h');
    for (const seconds of [0.001, 0.0009, 0.003, 20]) requests.record(200, seconds);
    const text = await metrics.registry.metrics();
    const bucket = (le: string) =>
      Number(
        new RegExp(`sepal_model_request_duration_seconds_bucket\\{model="unit-h",le="${le}"\\} (\\S+)`).exec(
          text,
        )?.[1],
      );
    expect(text).toContain('# TYPE sepal_model_request_duration_seconds histogram');
    expect(bucket('0.0005')).toBe(0);
    expect(bucket('0.001')).toBe(2);
    expect(bucket('0.005')).toBe(3);
    expect(bucket('10')).toBe(3);
    expect(bucket('\\+Inf')).toBe(4);
    expect(text).toMatch(/sepal_model_request_duration_seconds_sum\{model="unit-h"\} 20\.004/);
    expect(text).toMatch(/sepal_model_request_duration_seconds_count\{model="unit-h"\} 4/);
  });

  describe('Fastify hook', () => {
    let fastify: FastifyInstance;
    const served = new Map<string, ModelRequests>();

    beforeAll(async () => {
      served.set('unit-default', metrics.requestsOf('unit-default'));
      served.set('unit-b', metrics.requestsOf('unit-b'));
      const hook = new ModelTrafficHook();
      fastify = Fastify();
      hook.install(fastify);
      const answer = (status: number) => async (_request: unknown, reply: { code(n: number): unknown }) => {
        reply.code(status);
        return {};
      };
      fastify.post('/predict', answer(200));
      fastify.post('/predict/:model', answer(400));
      fastify.post('/v2/models/:name/infer', answer(500));
      fastify.post('/v2/models/:name/versions/:version/infer', answer(200));
      fastify.post('/feedback/:model', answer(202));
      hook.attach((model) => served.get(model ?? 'unit-default') ?? null);
      await fastify.ready();
    });
    afterAll(() => fastify.close());

    it('counts each prediction route under the model it names, and the default model for /predict', async () => {
      for (const url of [
        '/predict',
        '/predict/unit-b',
        '/v2/models/unit-b/infer',
        '/v2/models/unit-b/versions/2/infer',
        '/feedback/unit-b',
      ])
        await fastify.inject({ method: 'POST', url, payload: {} });
      expect(await value('sepal_model_requests_total', { model: 'unit-default', code: '2xx' })).toBe(1);
      expect(await value('sepal_model_requests_total', { model: 'unit-b', code: '2xx' })).toBe(1);
      expect(await value('sepal_model_requests_total', { model: 'unit-b', code: '4xx' })).toBe(1);
      expect(await value('sepal_model_requests_total', { model: 'unit-b', code: '5xx' })).toBe(1);
      expect(await value('sepal_model_request_duration_seconds', { model: 'unit-b' })).toBe(3);
    });

    it('creates no series for a model it does not serve', async () => {
      await fastify.inject({ method: 'POST', url: '/predict/unit-unknown', payload: {} });
      const metric = await metrics.registry.getSingleMetric('sepal_model_requests_total')!.get();
      expect(metric.values.some((entry) => entry.labels.model === 'unit-unknown')).toBe(false);
    });
  });
});
