import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { HealthRegistry } from '@sepal/observability';
import { GracefulShutdown, stopConsumingOnShutdown } from './graceful-shutdown';

/** A server whose /slow answers after `slowMs`, and a fake Nest app around it (health, consumers, close). */
function fixture(slowMs: number) {
  const timers: NodeJS.Timeout[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url === '/slow') timers.push(setTimeout(() => res.end('slow'), slowMs));
    else res.end('ok');
  });
  server.on('close', () => timers.forEach(clearTimeout));
  const health = new HealthRegistry();
  const consumers = { stopped: 0, stopConsuming: async () => void consumers.stopped++ };
  let closed = false;
  const app = {
    getHttpServer: () => server,
    get: (token: unknown) => (token === HealthRegistry ? health : undefined),
    close: async () => void (closed = true),
  } as unknown as INestApplication;
  stopConsumingOnShutdown(app, consumers);
  return { server, health, consumers, app, closed: () => closed };
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

function get(port: number, path: string, agent?: import('node:http').Agent) {
  return new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GracefulShutdown', () => {
  it('reports not ready and stops consuming at once, answers with Connection: close while it drains, then refuses', async () => {
    const { server, health, consumers, app, closed } = fixture(0);
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 300, SHUTDOWN_GRACE_MS: 5_000 });
    expect((await health.report()).status).toBe('ok');
    expect((await get(port, '/')).connection).toBe('keep-alive');

    const stopping = shutdown.stop();
    expect((await health.report()).checks.shutdown.status).toBe('down');
    expect(consumers.stopped).toBe(1);
    // Still answering during the delay, each answer ending its keep-alive connection.
    expect(await get(port, '/')).toMatchObject({ status: 200, connection: 'close', body: 'ok' });
    await stopping;
    expect(closed()).toBe(true);
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('finishes a request in flight before the app closes', async () => {
    const { server, app, closed } = fixture(700);
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 0, SHUTDOWN_GRACE_MS: 5_000 });
    const slow = get(port, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopping = shutdown.stop();
    expect(await slow).toMatchObject({ status: 200, body: 'slow', connection: 'close' });
    await stopping;
    expect(closed()).toBe(true);
  });

  it('cuts what is still in flight at the grace period', async () => {
    const { server, app, closed } = fixture(60_000);
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 0, SHUTDOWN_GRACE_MS: 1_500 });
    const stuck = get(port, '/slow').catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await shutdown.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await stuck).toMatchObject({ code: 'ECONNRESET' });
    expect(closed()).toBe(true);
  });
});
