import type { Server, ServerResponse } from 'node:http';
import * as net from 'node:net';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { HealthRegistry } from '@sepal/observability';

export interface ShutdownSettings {
  /** How long the app keeps serving, reported not ready, before it stops accepting connections. */
  SHUTDOWN_DELAY_MS: number;
  /** The longest the whole stop may take; requests still in flight then are cut. */
  SHUTDOWN_GRACE_MS: number;
}

/** What the app's own close (consumers, broker and database connections) gets of the grace period. */
const CLOSE_ALLOWANCE_MS = 1_000;
/** How long a connection accepted just before the listener closed has to deliver its request. */
const IDLE_LINGER_MS = 500;

/** What stops an app's event consumers, by app (startSepalApp registers its EventTransport). */
const consumersOf = new WeakMap<INestApplication, Consumers>();
interface Consumers {
  stopConsuming(): Promise<void>;
}

/** `consumers` stop taking messages the moment `app` is asked to stop (an app without consumers registers none). */
export function stopConsumingOnShutdown(app: INestApplication, consumers: Consumers): void {
  consumersOf.set(app, consumers);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Stops a service the way a rolling update or a scale-down needs, losing no request:
 *   1. at once: /health/ready answers 503 (the load balancer takes the pod out), the event consumers stop taking
 *      messages (a trainer takes no new job), and every answer from now on says `Connection: close`, so each
 *      keep-alive connection ends after its current answer;
 *   2. after SHUTDOWN_DELAY_MS (the time the load balancer needs to notice), the server stops accepting connections
 *      and closes the idle ones; requests in flight finish;
 *   3. then the app closes (its shutdown hooks: a trainer hands its running job back to the queue, the broker
 *      connections close). At SHUTDOWN_GRACE_MS from the signal whatever is left is cut.
 */
export class GracefulShutdown {
  private draining = false;
  /** Answers being made: when the drain starts, those that have not sent their headers yet close their connection. */
  private readonly inFlight = new Set<ServerResponse>();
  private stopping?: Promise<void>;

  constructor(
    private readonly app: INestApplication,
    private readonly settings: ShutdownSettings,
    private readonly logger?: LoggerService,
  ) {
    const server = this.server();
    // First of the request listeners, so that the app's own handlers (and lean paths in front of Fastify) see it.
    server.prependListener('request', (_request, response: ServerResponse) => {
      if (this.draining) {
        response.setHeader('Connection', 'close');
        return;
      }
      this.inFlight.add(response);
      response.once('close', () => this.inFlight.delete(response));
    });
    this.app.get(HealthRegistry, { strict: false })?.register('shutdown', () => {
      if (this.draining) throw new Error('shutting down: finishing the requests in flight');
    });
  }

  /** Stops the app as above; a second call answers the first one's promise. */
  stop(): Promise<void> {
    this.stopping ??= this.run();
    return this.stopping;
  }

  private server(): Server {
    return this.app.getHttpServer() as Server;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    const { SHUTDOWN_DELAY_MS: delayMs, SHUTDOWN_GRACE_MS: graceMs } = this.settings;
    this.draining = true;
    for (const response of this.inFlight)
      if (!response.headersSent) response.setHeader('Connection', 'close');
    this.logger?.log(
      `stopping: not ready, draining for ${delayMs} ms, at most ${graceMs} ms in all`,
      'Shutdown',
    );
    const consumers = consumersOf
      .get(this.app)
      ?.stopConsuming()
      .catch((error: unknown) => {
        this.logger?.warn(`consumers did not stop cleanly: ${String(error)}`, 'Shutdown');
      });
    await sleep(Math.min(delayMs, graceMs));
    await consumers;
    const server = this.server();
    // Stop accepting, but not as http.Server#close does, which also drops the connections with no request yet: one
    // accepted a moment ago may carry a request still in the socket's buffer, and its client would get a reset.
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      net.Server.prototype.close.call(server, () => resolve());
    });
    const cut = setTimeout(
      () => {
        this.logger?.warn('grace period over: cutting the connections still open', 'Shutdown');
        server.closeAllConnections();
      },
      // A second to close the app after the cut, within the grace period (runService exits at its end regardless).
      Math.max(0, graceMs - CLOSE_ALLOWANCE_MS - (Date.now() - started)),
    );
    // Every answer closes its connection now; what is still idle after a moment has nothing to send: close it, and
    // so on until the last connection is gone (one whose answer had said keep-alive before the drain began).
    await Promise.race([sleep(IDLE_LINGER_MS), closed]);
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), IDLE_LINGER_MS);
    await closed;
    clearTimeout(cut);
    clearInterval(idle);
    await this.app.close();
    this.logger?.log(`stopped in ${Date.now() - started} ms`, 'Shutdown');
  }
}
