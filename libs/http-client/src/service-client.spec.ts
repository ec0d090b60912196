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

  describe('calls its own service only', () => {
    let foreign: Server;
    let foreignRequests: { url?: string; key?: string | string[] }[];
    let foreignHost: string;

    beforeAll(async () => {
      foreignRequests = [];
      foreign = createServer((req, res) => {
        foreignRequests.push({ url: req.url, key: req.headers['x-api-key'] });
        res.end('{}');
      });
      await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
      foreignHost = `127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => foreign.close(() => resolve())));

    it.each([
      ['an absolute URL', (host: string) => `http://${host}/artifacts/x`, /an absolute URL/],
      ['another scheme', () => 'file:///etc/passwd', /an absolute URL/],
      ['a protocol-relative URL', (host: string) => `//${host}/x`, /protocol-relative/],
      ['a backslash', (host: string) => `/\\${host}/x`, /backslash/],
      ['a leading backslash', (host: string) => `\\\\${host}\\x`, /backslash/],
      ['a tab inside', (host: string) => `/\t/${host}`, /control character/],
      ['an uppercase scheme', (host: string) => `HTTP://${host}/`, /an absolute URL/],
    ])('refuses %s, sending nothing anywhere', async (_case, path, why) => {
      let calls = 0;
      handler = (_req, res) => (calls++, json(res, 200, {}));
      const client = new ServiceClient({ service: 'registry', baseUrl, apiKey: 's3cret' });
      const error = (await client.get(path(foreignHost)).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(why);
      expect(error.message).toContain(`a service client calls only ${new URL(baseUrl).origin}`);
      expect(() => client.url(path(foreignHost))).toThrow(why);
      expect(calls).toBe(0);
      expect(foreignRequests).toEqual([]);
    });

    it('keeps encoded dot segments inside the base path, and encoded slashes on the service', async () => {
      const base = new URL('/api/', baseUrl).href;
      const client = new ServiceClient({ service: 'registry', baseUrl: base });
      expect(() => client.url('/%2e%2e/keys')).toThrow(/a path outside \/api/);
      expect(() => client.url('/../keys')).toThrow(/a path outside \/api/);
      expect(client.url('/%2F%2Fevil.example/x')).toBe(`${base}%2F%2Fevil.example/x`);
      expect(client.url('models?limit=1')).toBe(`${base}models?limit=1`);
    });
  });

  describe('a kept-alive socket the server closes', () => {
    /**
     * A server of its own (and so a connection pool of its own) that answers the first request of each connection
     * and closes the connection when its second arrives, as a server's idle keep-alive timeout racing a reused socket.
     */
    async function closingServer(run: (url: string, requests: string[]) => Promise<void>): Promise<void> {
      const seen = new WeakMap<object, number>();
      const requests: string[] = [];
      const closing = createServer((req, res) => {
        const count = (seen.get(req.socket) ?? 0) + 1;
        seen.set(req.socket, count);
        requests.push(`${req.method} ${req.url} ${count}`);
        req.resume();
        req.on('end', () => (count > 1 ? req.socket.destroy() : json(res, 200, { ok: true })));
      });
      await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
      try {
        await run(`http://127.0.0.1:${(closing.address() as AddressInfo).port}`, requests);
      } finally {
        closing.closeAllConnections();
        await new Promise<void>((resolve) => closing.close(() => resolve()));
      }
    }

    /**
     * Lets the client put the first connection back in its pool (else the next call opens another one). Undici does
     * it in a setImmediate queued as the answer completes, so one queued after the answer was read runs after it.
     */
    const idle = () => new Promise((resolve) => setImmediate(resolve));

    it('sends an idempotent GET again, once, on a new connection', () =>
      closingServer(async (url, requests) => {
        const client = new ServiceClient({ service: 'registry', baseUrl: url });
        await expect(client.get('/a')).resolves.toEqual({ ok: true });
        await idle();
        await expect(client.get('/b')).resolves.toEqual({ ok: true });
        // The second call went out on the kept-alive socket, was cut, and went again on a new one.
        expect(requests).toEqual(['GET /a 1', 'GET /b 2', 'GET /b 1']);
      }));

    it('does not send a POST twice: it reports the closed socket', () =>
      closingServer(async (url, requests) => {
        const client = new ServiceClient({ service: 'registry', baseUrl: url });
        await expect(client.post('/a', {})).resolves.toEqual({ ok: true });
        await idle();
        const error = (await client.post('/b', {}).catch((e: unknown) => e)) as ServiceCallError;
        expect(error).toBeInstanceOf(ServiceCallError);
        expect(error.message).toMatch(/POST .*\/b failed: other side closed/);
        expect(requests).toEqual(['POST /a 1', 'POST /b 2']);
      }));
  });

  it('reads bytes and text', async () => {
    handler = (_req, res) => res.end(Buffer.from([1, 2, 3]));
    const client = new ServiceClient({ service: 'registry', baseUrl });
    expect(Array.from(await client.bytes('/a'))).toEqual([1, 2, 3]);
    handler = (_req, res) => res.end('hello');
    expect(await client.text('/b')).toBe('hello');
  });
});
