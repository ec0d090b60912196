import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ServiceCallError } from './service-call-error';
import { ServiceClient } from './service-client';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

describe('ServiceClient', () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => handler(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };

  it('sends JSON with the API key and validates the answer against a contract', async () => {
    handler = (req, res, body) =>
      json(res, 200, { method: req.method, key: req.headers['x-api-key'], echo: JSON.parse(body) });
    const client = new ServiceClient({ service: 'registry', baseUrl, apiKey: 's3cret' });
    const schema = z.object({ method: z.string(), key: z.string(), echo: z.object({ a: z.number() }) });
    await expect(client.post('/things', { a: 1 }, { schema })).resolves.toEqual({
      method: 'POST',
      key: 's3cret',
      echo: { a: 1 },
    });
  });

  it('names the URL, the status and the service message of a refused call', async () => {
    handler = (_req, res) => json(res, 404, { message: 'model Foo not found', hint: 'List models first.' });
    const client = new ServiceClient({ service: 'registry', baseUrl });
    const error = await client.get('/models/Foo').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect((error as ServiceCallError).message).toBe(
      `registry: GET ${baseUrl}models/Foo answered 404: model Foo not found`,
    );
    expect((error as ServiceCallError).hint).toBe('List models first.');
    expect((error as ServiceCallError).transient).toBe(false);
  });

  it('refuses an answer that breaks the contract, naming the field', async () => {
    handler = (_req, res) => json(res, 200, { id: 7 });
    const client = new ServiceClient({ service: 'data', baseUrl });
    await expect(client.get('/v', { schema: z.object({ id: z.string() }) })).rejects.toThrow(
      /answer does not match the contract at id/,
    );
  });

  it('times out, as a transient error', async () => {
    handler = () => undefined; // never answers
    const client = new ServiceClient({ service: 'data', baseUrl, timeoutMs: 100 });
    const error = (await client.get('/slow').catch((e: unknown) => e)) as ServiceCallError;
    expect(error.message).toMatch(/GET .*\/slow failed: timed out/);
    expect(error.transient).toBe(true);
  });

  it('retries transient failures only when asked, then succeeds', async () => {
    let calls = 0;
    handler = (_req, res) =>
      ++calls < 3 ? json(res, 503, { message: 'starting' }) : json(res, 200, { ok: true });
    const client = new ServiceClient({ service: 'data', baseUrl });
    await expect(client.get('/flaky')).rejects.toThrow(/answered 503: starting/);
    calls = 0;
    await expect(client.get('/flaky', { retry: { forMs: 5_000, initialDelayMs: 10 } })).resolves.toEqual({
      ok: true,
    });
    expect(calls).toBe(3);
  });

  it('reports an unreachable service with the hint', async () => {
    const client = new ServiceClient({
      service: 'data',
      baseUrl: 'http://127.0.0.1:1',
      unreachableHint: 'Set DATA_URL.',
    });
    const error = (await client.get('/x').catch((e: unknown) => e)) as ServiceCallError;
    expect(error.status).toBeNull();
    expect(error.hint).toBe('Set DATA_URL.');
    expect(error.message).toMatch(/^data: GET http:\/\/127\.0\.0\.1:1\/x failed: /);
  });

  it('reads bytes and text', async () => {
    handler = (_req, res) => res.end(Buffer.from([1, 2, 3]));
    const client = new ServiceClient({ service: 'registry', baseUrl });
    expect(Array.from(await client.bytes('/a'))).toEqual([1, 2, 3]);
    handler = (_req, res) => res.end('hello');
    expect(await client.text('/b')).toBe('hello');
  });
});
