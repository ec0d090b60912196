import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ServiceCallError } from '@sepal/http-client';
import { InferenceConfig } from '../../inference.config';
import { HttpModelRegistry } from './http-model-registry.repository';

const SHA = 'a'.repeat(64);
const RUN_ID = '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21';

/** GET /models/:name/aliases/champion as the registry answers it. */
const championView = {
  alias: 'champion',
  name: 'IrisModel',
  version: 3,
  runId: RUN_ID,
  sha256: SHA,
  size: 3,
  artifactUrl: `http://registry.public/artifacts/${SHA}`,
  signature: null,
  metrics: { test_accuracy: 0.97 },
  description: null,
  createdAt: '2025-01-01T12:00:00.000Z',
};

describe('HttpModelRegistry', () => {
  let server: Server;
  let url: string;
  let answer: (path: string, res: ServerResponse) => void;
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      answer(req.url ?? '', res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (paths.length = 0));

  const registry = (timeoutMs = 2000) =>
    new HttpModelRegistry(
      InferenceConfig.load({ REGISTRY_URL: url, REGISTRY_TIMEOUT_MS: String(timeoutMs) }),
    );
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('reads the champion alias of a model (its name escaped in the path)', async () => {
    answer = (_path, res) => json(res, 200, { ...championView, name: 'Iris Model' });
    expect(await registry().champion('Iris Model')).toEqual({
      version: 3,
      sha256: SHA,
      runId: RUN_ID,
      metrics: { test_accuracy: 0.97 },
    });
    expect(paths).toEqual(['/models/Iris%20Model/aliases/champion']);
  });

  it('refuses an answer about another model, alias or version than the one asked', async () => {
    answer = (_path, res) => json(res, 200, championView);
    await expect(registry().champion('OtherModel')).rejects.toThrow(
      'the registry answered model "IrisModel" when asked for "OtherModel"',
    );
    answer = (_path, res) => json(res, 200, { ...championView, alias: 'challenger' });
    await expect(registry().champion('IrisModel')).rejects.toThrow(/answered alias "challenger"/);
    answer = (_path, res) => json(res, 200, championView);
    await expect(registry().version('IrisModel', 4)).rejects.toThrow(/answered version 3 when asked for 4/);
  });

  it('answers null when the registry has no champion (404)', async () => {
    answer = (_path, res) => json(res, 404, { message: "model 'IrisModel' has no alias 'champion'" });
    expect(await registry().champion('IrisModel')).toBeNull();
  });

  it('refuses an answer that breaks the registry contract, naming the field', async () => {
    answer = (_path, res) => json(res, 200, { ...championView, sha256: 'not-a-digest' });
    const error = await registry()
      .champion('IrisModel')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect((error as Error).message).toMatch(/answer does not match the contract at sha256/);
  });

  it('passes on a failing registry with the URL and the status', async () => {
    answer = (_path, res) => json(res, 500, { message: 'database unavailable' });
    await expect(registry().champion('IrisModel')).rejects.toThrow(
      `registry: GET ${url}/models/IrisModel/aliases/champion answered 500: database unavailable`,
    );
  });

  it('gives up after REGISTRY_TIMEOUT_MS', async () => {
    answer = () => undefined;
    await expect(registry(100).download(SHA)).rejects.toThrow(
      `registry: GET ${url}/artifacts/${SHA} failed: timed out`,
    );
  });

  it('downloads an artifact from the registry by its digest only', async () => {
    answer = (_path, res) => res.end(Buffer.from([1, 2, 3]));
    expect(Array.from(await registry().download(SHA))).toEqual([1, 2, 3]);
    expect(paths).toEqual([`/artifacts/${SHA}`]);
    for (const notDigest of [`http://attacker.example/artifacts/${SHA}`, `/artifacts/${SHA}`, '../keys']) {
      await expect(registry().download(notDigest)).rejects.toThrow(/^not a SHA-256 digest/);
    }
    expect(paths).toHaveLength(1);
  });
});
