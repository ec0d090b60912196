/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
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
  retryAfter?: string | string[];
  predictionId: string | undefined;
  body: string;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

function sendOverHttp(
  port: number,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
  chunked = false,
  agent?: Agent,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'],
            retryAfter: response.headers['retry-after'],
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
}

/** `count` requests as fast as one client sends them (64 connections, kept alive): the statuses, by count. */
async function atFullSpeed(port: number, count: number, headers: Record<string, string>) {
  const body = JSON.stringify({ features: ROW });
  const answers = await Promise.all(
    Array.from({ length: count }, () => sendOverHttp(port, '/predict', body, headers, false, keepAlive)),
  );
  const statuses: Record<number, number> = {};
  for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  return statuses;
}

afterAll(() => keepAlive.destroy());

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
    sendOverHttp(port, path, body, headers, chunked);
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
    [
      'a foreign Host (DNS rebinding)',
      '/predict',
      JSON.stringify({ features: ROW }),
      { ...json, host: 'attacker.example' },
    ],
    [
      'a page on another site',
      '/predict',
      JSON.stringify({ features: ROW }),
      { ...json, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    ],
    ['a missing required feature', '/predict', JSON.stringify({ sepal_length: 5.1 }), json],
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

  it('serves a caller at full speed on the default rate settings without a single refusal (3,000 requests)', async () => {
    expect(await atFullSpeed(port, 3_000, json)).toEqual({ 200: 3_000 });
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

/*
 * With keys on, the lean path serves requests whose key the scope guard has already checked (a map lookup in the
 * verifier's cache) and hands every other one to Fastify before reading its body: the answers are the same.
 */
describe('lean /predict path with keys on (embedded adapters)', () => {
  const adminKey = randomBytes(24).toString('hex');
  const secrets: Record<string, string> = {};
  let registry: TestRegistry;
  let namespace: string;
  const gateways: Record<'defaults' | 'limited', { app: NestFastifyApplication; port: number }> = {} as never;
  const json = { 'content-type': 'application/json' };
  const body = JSON.stringify({ features: ROW });
  const as = (key: string) => ({ ...json, 'x-api-key': secrets[key] ?? key });

  const viaFastify = async (gateway: 'defaults' | 'limited', headers: Record<string, string>) => {
    const response = await gateways[gateway].app
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'POST', url: '/predict', payload: body, headers });
    return {
      status: response.statusCode,
      contentType: response.headers['content-type'] as string | undefined,
      predictionId: response.headers['x-prediction-id'] as string | undefined,
      body: response.body,
    };
  };
  const lean = (gateway: 'defaults' | 'limited', headers: Record<string, string>) =>
    sendOverHttp(gateways[gateway].port, '/predict', body, headers);
  const fastAnswered = async (gateway: 'defaults' | 'limited') =>
    Number(
      /sepal_predict_fast_path_total (\d+)/.exec(
        (
          await gateways[gateway].app
            .getHttpAdapter()
            .getInstance()
            .inject({ method: 'GET', url: '/metrics' })
        ).body,
      )?.[1] ?? 0,
    );

  beforeAll(async () => {
    namespace = uniqueNamespace('fastkeys');
    registry = await new TestRegistry().start({ namespace, apiKey: adminKey });
    await registry.createRun(IRIS_RUN_ID);
    await registry.register('IrisModel', irisOnnx(), IRIS_RUN_ID);
    await registry.promote('IrisModel', 1);
    const keys = registry.app.getHttpAdapter().getInstance();
    for (const [name, scopes] of [
      ['shop', ['predict']],
      ['other', ['predict']],
      ['fresh', ['predict']],
      ['reader', ['read']],
    ] as const) {
      const created = await keys.inject({
        method: 'POST',
        url: '/keys',
        headers: { 'x-api-key': adminKey },
        payload: { name, scopes },
      });
      secrets[name] = created.json<{ secret: string }>().secret;
    }
    const env = {
      SEPAL_NAMESPACE: namespace,
      SEPAL_API_KEY: adminKey,
      REGISTRY_URL: registry.url,
      INFERENCE_HOST: '127.0.0.1',
      INFERENCE_PORT: '0',
      MODEL_SYNC_INTERVAL_MS: '0',
      MODEL_RETRY_INTERVAL_MS: '100',
      LOG_LEVEL: 'error',
    };
    for (const [name, extra] of [
      ['defaults', {}],
      ['limited', { PREDICT_RATE_PER_KEY: '0.001', PREDICT_BURST_PER_KEY: '20' }],
    ] as const) {
      const app = await startInferenceApp(InferenceConfig.load({ ...env, ...extra }));
      const port = Number(new URL((await app.getUrl()).replace('[::1]', '127.0.0.1')).port);
      gateways[name] = { app, port };
      await waitFor(async () => (await viaFastify(name, as(adminKey))).status === 200, {
        timeoutMs: 20_000,
        description: `v1 served by the ${name} gateway`,
      });
    }
  });

  afterAll(async () => {
    for (const { app } of Object.values(gateways)) await app?.close();
    await registry?.stop();
  });

  it.each([
    ['no key', json],
    ['an unknown key', as('sepal_AAAAAAAAAAAA_' + 'A'.repeat(43))],
    ['a key without the predict scope', as('reader')],
    ['a predict key', as('shop')],
    ['a predict key as a bearer token', { ...json, authorization: `Bearer ${'shop'}` }],
  ])('answers %s exactly as Fastify does', async (_what, headers) => {
    const sent: Record<string, string> = { ...headers };
    if (sent.authorization) sent.authorization = `Bearer ${secrets.shop}`;
    const first = await lean('defaults', sent);
    const again = await lean('defaults', sent); // the key is in the cache now: the lean path's own answer
    const reference = await viaFastify('defaults', sent);
    for (const answer of [first, again]) {
      expect(answer.status).toBe(reference.status);
      expect(answer.contentType).toBe(reference.contentType);
      expect(withoutIds(answer)).toEqual(withoutIds(reference));
    }
  });

  it('serves a caller at full speed with a key never used before: no 429 on the defaults, the lean path once checked', async () => {
    const before = await fastAnswered('defaults');
    expect(await atFullSpeed(gateways.defaults.port, 3_000, as('fresh'))).toEqual({ 200: 3_000 });
    // All but the first few (sent before the first check answered) are answered by a map lookup on the lean path.
    expect((await fastAnswered('defaults')) - before).toBeGreaterThan(2_900);
  });

  it('limits each key on its own when PREDICT_RATE_PER_KEY is set, with the same 429 on both paths', async () => {
    const statuses = await atFullSpeed(gateways.limited.port, 60, as('shop'));
    expect(statuses[200]).toBeLessThanOrEqual(20);
    expect(statuses[200] + statuses[429]).toBe(60);
    const limited = await lean('limited', as('shop'));
    const reference = await viaFastify('limited', as('shop'));
    expect(limited.status).toBe(429);
    expect(reference.status).toBe(429);
    expect(limited.retryAfter).toBeDefined();
    const message = (answer: { body: string }) =>
      (JSON.parse(answer.body) as { message: string }).message.replace(/after \d+ s/, 'after N s');
    expect(message(limited)).toBe(message(reference));
    expect(message(limited)).toMatch(/"shop".*PREDICT_RATE_PER_KEY=0.001.*raise PREDICT_RATE_PER_KEY/);
    // Another key is served in full.
    expect(await atFullSpeed(gateways.limited.port, 20, as('other'))).toEqual({ 200: 20 });
  });
});
