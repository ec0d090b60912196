import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { HealthRegistry } from '@sepal/observability';
import { waitFor } from '@sepal/testing';
import { GracefulShutdown, stopConsumingOnShutdown } from './graceful-shutdown';

/**
 * A server whose /slow answers only when the test calls `answerSlow()` (`slowArrived` resolves once one is in), and a
 * fake Nest app around it (health, consumers, close).
 */
function fixture() {
  const slow: ServerResponse[] = [];
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
  const server: Server = createServer((req, res) => {
    if (req.url === '/slow') {
      slow.push(res);
      arrived();
    } else res.end('ok');
  });
  const health = new HealthRegistry();
  const consumers = { stopped: 0, stopConsuming: async () => void consumers.stopped++ };
  let closed = false;
  const app = {
    getHttpServer: () => server,
    get: (token: unknown) => (token === HealthRegistry ? health : undefined),
    close: async () => void (closed = true),
  } as unknown as INestApplication;
  stopConsumingOnShutdown(app, consumers);
  const answerSlow = () => slow.splice(0).forEach((res) => res.end('slow'));
  return { server, health, consumers, app, closed: () => closed, slowArrived, answerSlow };
}

/**
 * The shutdown's clock and timers (its delay, its linger, its cut) on a fake clock the test moves; the sockets stay
 * real. What happens at which point of the grace period is then exact, however slowly the machine runs.
 */
const fakeShutdownClock = () =>
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });

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
  afterEach(() => jest.useRealTimers());

  it('reports not ready and stops consuming at once, answers with Connection: close while it drains, then refuses', async () => {
    const { server, health, consumers, app, closed } = fixture();
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 300, SHUTDOWN_GRACE_MS: 5_000 });
    expect((await health.report()).status).toBe('ok');
    expect((await get(port, '/')).connection).toBe('keep-alive');

    fakeShutdownClock();
    const stopping = shutdown.stop();
    expect((await health.report()).checks.shutdown.status).toBe('down');
    expect(consumers.stopped).toBe(1);
    // Still answering during the delay (not over until the test moves the clock), each answer ending its keep-alive
    // connection.
    expect(await get(port, '/')).toMatchObject({ status: 200, connection: 'close', body: 'ok' });
    await jest.advanceTimersByTimeAsync(5_000);
    await stopping;
    expect(closed()).toBe(true);
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('finishes a request in flight before the app closes', async () => {
    const { server, app, closed, slowArrived, answerSlow } = fixture();
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 0, SHUTDOWN_GRACE_MS: 5_000 });
    const slow = get(port, '/slow');
    await slowArrived;

    fakeShutdownClock();
    const stopping = shutdown.stop();
    await jest.advanceTimersByTimeAsync(0); // the delay is over: no new connection is accepted
    expect(server.listening).toBe(false);
    expect(closed()).toBe(false); // the request in flight keeps the app open
    answerSlow();
    expect(await slow).toMatchObject({ status: 200, body: 'slow', connection: 'close' });
    await stopping;
    expect(closed()).toBe(true);
  });

  it('cuts what is still in flight at the grace period', async () => {
    const { server, app, closed, slowArrived } = fixture(); // /slow is never answered
    const port = await listen(server);
    const shutdown = new GracefulShutdown(app, { SHUTDOWN_DELAY_MS: 0, SHUTDOWN_GRACE_MS: 1_500 });
    const stuck = get(port, '/slow').catch((error: Error) => error);
    await slowArrived;

    fakeShutdownClock();
    let stopped = false;
    const stopping = shutdown.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(1_500);
    // The grace period is over on the shutdown's clock: the stop ends on the sockets' (real) events alone.
    jest.useRealTimers();
    await waitFor(() => stopped, {
      timeoutMs: 10_000,
      description: 'the stop to end within its grace period',
    });
    await stopping;
    expect(await stuck).toMatchObject({ code: 'ECONNRESET' });
    expect(closed()).toBe(true);
  });
});
