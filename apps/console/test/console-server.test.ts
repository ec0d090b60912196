import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import { ConfigError } from '@sepal/config';
import { ConsoleConfig, startConsoleApp } from '../src';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A stand-in for the four services: it records what reaches it and answers by path (/slow: never). */
async function upstream(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      seen.push({
        method: request.method!,
        url: request.url!,
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      });
      // Never answered (the connection is closed with the server): the proxy's timeout cannot lose a race with it.
      if (request.url!.startsWith('/slow')) return;
      if (request.url!.startsWith('/jobs')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end(
          JSON.stringify({ jobs: [{ id: 'job-1', state: 'running' }], nextPageToken: null }),
        );
      }
      response.writeHead(request.url === '/missing' ? 404 : 200, {
        'content-type': 'application/json',
        'content-disposition': 'attachment; filename="x.csv"',
        'set-cookie': 'not=forwarded',
      });
      response.end(JSON.stringify({ path: request.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('the console server', () => {
  let app: INestApplication;
  let base: string;
  let services: Awaited<ReturnType<typeof upstream>>;
  let webDir: string;

  beforeAll(async () => {
    services = await upstream();
    webDir = mkdtempSync(join(tmpdir(), 'sepal-console-web-'));
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(webDir, 'assets/app-123.js'), 'console.log(1)');
    app = await startConsoleApp(
      ConsoleConfig.load({
        CONSOLE_PORT: '0',
        CONSOLE_HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        DATA_URL: services.url,
        REGISTRY_URL: services.url,
        TRAINER_URL: services.url,
        // Nothing listens there: the unreachable case.
        INFERENCE_URL: 'http://127.0.0.1:1',
        CONSOLE_MAX_BODY_BYTES: '1000',
        CONSOLE_PROXY_TIMEOUT_MS: '300',
        CONSOLE_JOBS_POLL_MS: '100',
        CONSOLE_METRICS_INTERVAL_MS: '60000',
        CONSOLE_WEB_DIR: webDir,
      }),
    );
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    services?.server.closeAllConnections();
    services?.server.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  it('forwards a call with its query and API key, and answers with the service status and headers', async () => {
    const response = await fetch(`${base}/api/registry/runs?filter=${encodeURIComponent("status = 'x'")}`, {
      headers: { 'x-api-key': 'secret-key-1', cookie: 'a=b' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/runs?filter=status%20%3D%20%27x%27' });
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="x.csv"');
    expect(response.headers.get('set-cookie')).toBeNull();
    const seen = services.seen.at(-1)!;
    expect(seen.headers['x-api-key']).toBe('secret-key-1');
    expect(seen.headers.cookie).toBeUndefined();
    expect((await fetch(`${base}/api/data/missing`)).status).toBe(404);
  });

  it('forwards any body untouched (a CSV upload)', async () => {
    const csv = 'a,b,label\n1,2,x\n';
    const response = await fetch(`${base}/api/data/datasets/d/import?dryRun=true`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' },
      body: csv,
    });
    expect(response.status).toBe(200);
    const seen = services.seen.at(-1)!;
    expect(seen).toMatchObject({ method: 'POST', url: '/datasets/d/import?dryRun=true', body: csv });
    expect(seen.headers['content-type']).toBe('text/csv');
  });

  it('refuses a body over CONSOLE_MAX_BODY_BYTES with a 413 naming the limit, without calling the service', async () => {
    const before = services.seen.length;
    const response = await fetch(`${base}/api/data/datasets/d/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' },
      body: 'x'.repeat(1001),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { message: string }).message).toBe(
      'body: larger than the limit of 1000 bytes (CONSOLE_MAX_BODY_BYTES)',
    );
    expect(services.seen.length).toBe(before);
  });

  it('answers 504 naming CONSOLE_PROXY_TIMEOUT_MS when a service is too slow, 502 when it is down', async () => {
    const slow = await fetch(`${base}/api/trainer/slow`);
    expect(slow.status).toBe(504);
    expect(((await slow.json()) as { message: string }).message).toMatch(
      /did not answer within 300 ms \(CONSOLE_PROXY_TIMEOUT_MS\)/,
    );
    const down = await fetch(`${base}/api/inference/model`);
    expect(down.status).toBe(502);
    expect(((await down.json()) as { message: string }).message).toMatch(
      /inference service at http:\/\/127\.0\.0\.1:1 is unreachable/,
    );
  });

  it('sends a strict Content-Security-Policy that forbids framing, with nosniff and no referrer, on its pages', async () => {
    const page = await fetch(`${base}/models`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('streams a body it cannot buffer: a chunked body over CONSOLE_MAX_BODY_BYTES is cut and answered 413', async () => {
    const response = await fetch(`${base}/api/data/datasets/d/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' },
      body: Readable.toWeb(Readable.from([Buffer.alloc(600, 97), Buffer.alloc(600, 98)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('names the services it knows when asked for another', async () => {
    const response = await fetch(`${base}/api/billing/x`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toMatch(
      /use \/api\/data\|registry\|trainer\|inference/,
    );
  });

  it('serves the single-page app: its files, and index.html for client-side pages', async () => {
    const asset = await fetch(`${base}/assets/app-123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    for (const page of ['/', '/runs/abc', '/models/IrisModel']) {
      const response = await fetch(`${base}${page}`);
      expect({ page, status: response.status, body: await response.text() }).toEqual({
        page,
        status: 200,
        body: '<!doctype html><title>console</title>',
      });
    }
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    const escape = await fetch(`${base}/..%2f..%2f..%2fetc%2fpasswd`);
    expect(await escape.text()).not.toMatch(/root:/);
    // The Nest routes stay reachable beside the catch-all.
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/api/console/traffic`)).status).toBe(200);
  });

  it('streams the job list as server-sent events with the caller key, and refuses a bad maxResults', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/console/jobs/events?maxResults=5`, {
      headers: { 'x-api-key': 'stream-key-1' },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: jobs')) text += (await reader.read()).value ?? '';
    controller.abort();
    expect(text).toMatch(/event: jobs\ndata: \{"jobs":\[\{"id":"job-1"/);
    const polled = services.seen.filter((s) => s.url === '/jobs?maxResults=5');
    expect(polled.at(-1)!.headers['x-api-key']).toBe('stream-key-1');
    const bad = await fetch(`${base}/api/console/jobs/events?maxResults=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(
      /maxResults: must be an integer from 1 to 200/,
    );
  });

  it('refuses to listen beyond loopback when the deployment has no keys (its proxy would open the services)', async () => {
    await expect(
      startConsoleApp(ConsoleConfig.load({ HOST: '0.0.0.0', CONSOLE_PORT: '0', LOG_LEVEL: 'error' })),
    ).rejects.toThrow(/HOST="0.0.0.0": console would listen beyond loopback with no API key/);
  });

  it('refuses a bad configuration naming the variable', () => {
    expect(() => ConsoleConfig.load({ CONSOLE_PORT: 'eighty', REGISTRY_URL: 'ftp://x' })).toThrow(
      ConfigError,
    );
    expect(() => ConsoleConfig.load({ REGISTRY_URL: 'ftp://x' })).toThrow(
      /REGISTRY_URL: must start with http/,
    );
  });
});
