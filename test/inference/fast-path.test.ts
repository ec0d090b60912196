/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { request as httpRequest } from 'node:http';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import {
  InferenceConfig,
  MODEL_PROMOTED_QUEUE,
  MODEL_TRAFFIC_QUEUE,
  startInferenceApp,
} from '../../apps/inference/src';
import { AMQP_URL, deleteTestQueues, IRIS_RUN_ID, irisOnnx, TestRegistry } from './fixtures';

const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

jest.setTimeout(60_000);

interface Answer {
  status: number;
  contentType: string | undefined;
  predictionId: string | undefined;
  body: string;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The answer's body with every prediction id replaced by a placeholder, after checking each is a UUIDv7, that they
 * are distinct and that the X-Prediction-Id header is the first row's: the shape the lean and Nest paths must share.
 */
function withoutIds(answer: Answer): unknown {
  const body = JSON.parse(answer.body) as {
    predictions?: { predictionId?: string }[];
    predictionId?: string;
  };
  if (answer.status !== 200) return body;
  const ids = (body.predictions ?? []).map((row) => row.predictionId);
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) expect(id).toMatch(UUID_V7);
  expect(new Set(ids).size).toBe(ids.length);
  expect(answer.predictionId).toBe(ids[0]);
  if (body.predictionId !== undefined) expect(body.predictionId).toBe(ids[0]);
  return JSON.parse(answer.body.replace(/"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f-]{21}"/g, '"<id>"'));
}

/*
 * The lean body path of POST /predict only runs on a real socket (fastify.inject bypasses the server): each request
 * is sent over HTTP and compared with the same request answered by Fastify through inject.
 */
describe.each(['real services', 'embedded adapters'] as const)('lean /predict path on %s', (mode) => {
  const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
  let app: NestFastifyApplication;
  let registry: TestRegistry;
  let namespace: string;
  let port = 0;

  const overHttp = (path: string, body: string | Buffer, headers: Record<string, string>, chunked = false) =>
    new Promise<Answer>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              contentType: response.headers['content-type'],
              predictionId: response.headers['x-prediction-id'] as string | undefined,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      request.on('error', reject);
      if (chunked) {
        // Sent in pieces without a Content-Length (chunked transfer encoding).
        const bytes = Buffer.from(body);
        for (let at = 0; at < bytes.length; at += 1000) request.write(bytes.subarray(at, at + 1000));
        request.end();
      } else request.end(body);
    });
  const viaFastify = async (path: string, body: string, headers: Record<string, string>): Promise<Answer> => {
    const response = await app
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'POST', url: path, payload: body, headers });
    return {
      status: response.statusCode,
      contentType: response.headers['content-type'] as string | undefined,
      predictionId: response.headers['x-prediction-id'] as string | undefined,
      body: response.body,
    };
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('fast');
    registry = await new TestRegistry().start({ amqpUrl, namespace });
    await registry.createRun(IRIS_RUN_ID);
    await registry.register('IrisModel', irisOnnx(), IRIS_RUN_ID);
    await registry.promote('IrisModel', 1);
    app = await startInferenceApp(
      InferenceConfig.load({
        AMQP_URL: amqpUrl,
        SEPAL_NAMESPACE: namespace,
        REGISTRY_URL: registry.url,
        INFERENCE_HOST: '127.0.0.1',
        INFERENCE_PORT: '0',
        MODEL_SYNC_INTERVAL_MS: '0',
        MODEL_RETRY_INTERVAL_MS: '100',
        MAX_BODY_BYTES: '4096',
        MAX_BATCH_ROWS: '50',
        LOG_LEVEL: 'error',
      }),
    );
    port = Number(new URL((await app.getUrl()).replace('[::1]', '127.0.0.1')).port);
    await waitFor(
      async () => (await viaFastify('/predict', JSON.stringify({ features: ROW }), json)).status === 200,
      {
        timeoutMs: 20_000,
        description: 'v1 served',
      },
    );
  });

  afterAll(async () => {
    await app?.close();
    await registry?.stop();
    if (mode === 'real services')
      await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE]);
  });

  const json = { 'content-type': 'application/json' };

  it.each([
    ['one named row', '/predict', JSON.stringify({ features: ROW }), json],
    ['the compatibility form', '/predict', JSON.stringify(ROW), json],
    ['a batch', '/predict/IrisModel', JSON.stringify({ instances: [ROW, [6.7, 3, 5.2, 2.3]] }), json],
    [
      'a charset parameter',
      '/predict',
      JSON.stringify({ features: ROW }),
      { 'content-type': 'application/json; charset=utf-8' },
    ],
    ['a bad value', '/predict', JSON.stringify({ features: { ...ROW, petal_width: 'wide' } }), json],
    ['an unknown field', '/predict', JSON.stringify({ features: ROW, extra: 1 }), json],
    ['malformed JSON', '/predict', '{"features": [1, 2,', json],
    ['an empty body', '/predict', '', json],
    ['a prototype key', '/predict', '{"__proto__": {"x": 1}, "features": [1, 2, 3, 4]}', json],
    ['a NUL character', '/predict', '{"features": {"sepal_length\\u0000": 1}}', json],
    [
      'a body over MAX_BODY_BYTES',
      '/predict',
      JSON.stringify({ instances: new Array(500).fill([1, 2, 3, 4]) }),
      json,
    ],
    ['a wrong content type', '/predict', 'features=1,2,3,4', { 'content-type': 'text/plain' }],
    ['an unknown model', '/predict/Nope', JSON.stringify({ features: ROW }), json],
    [
      'a batch over MAX_BATCH_ROWS',
      '/predict',
      JSON.stringify({ instances: new Array(51).fill([1, 2, 3, 4]) }),
      json,
    ],
  ])('answers %s exactly as Fastify does', async (_what, path, body, headers) => {
    const lean = await overHttp(path, body, headers);
    const reference = await viaFastify(path, body, headers);
    expect(lean.status).toBe(reference.status);
    expect(lean.contentType).toBe(reference.contentType);
    // Same shape, with fresh prediction ids on each side (one per row, the first in X-Prediction-Id).
    expect(withoutIds(lean)).toEqual(withoutIds(reference));
  });

  it('refuses a chunked body that grows over MAX_BODY_BYTES with the same 413', async () => {
    const body = JSON.stringify({ instances: new Array(500).fill([1, 2, 3, 4]) });
    const lean = await overHttp('/predict', body, json, true);
    expect(lean.status).toBe(413);
    expect(JSON.parse(lean.body).message).toMatch(
      /^body: larger than the limit of 4096 bytes \(MAX_BODY_BYTES\)/,
    );
  });

  it('answers predictions on the lean path and counts them in the same HTTP metrics', async () => {
    const scrape = async (pattern: RegExp) =>
      Number(
        pattern.exec(
          (await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/metrics' })).body,
        )?.[1] ?? 0,
      );
    const requests = /http_requests_total\{method="POST",route="\/predict",status="200"\} (\d+)/;
    const lean = /sepal_predict_fast_path_total (\d+)/;
    const perModel = /sepal_model_requests_total\{model="IrisModel",code="2xx"\} (\d+)/;
    const timed = /sepal_model_request_duration_seconds_count\{model="IrisModel"\} (\d+)/;
    const [requestsBefore, leanBefore] = [await scrape(requests), await scrape(lean)];
    const [perModelBefore, timedBefore] = [await scrape(perModel), await scrape(timed)];
    for (let i = 0; i < 5; i++) await overHttp('/predict', JSON.stringify({ features: ROW }), json);
    expect(await scrape(requests)).toBe(requestsBefore + 5);
    expect(await scrape(lean)).toBe(leanBefore + 5);
    // The per-model series count the lean path's answers as Fastify's hook counts the others.
    expect(await scrape(perModel)).toBe(perModelBefore + 5);
    expect(await scrape(timed)).toBe(timedBefore + 5);
  });
});
