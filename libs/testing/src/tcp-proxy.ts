import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

export interface TcpProxyTarget {
  host: string;
  port: number;
}

/**
 * A TCP relay between a client and a server (e.g. RabbitMQ) that a test can break: `interrupt()` drops every
 * connection and refuses new ones (ECONNREFUSED) until `resume()`, which listens again on the same port.
 */
export class TcpProxy {
  private server?: Server;
  private listenPort = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: TcpProxyTarget) {}

  /** Starts listening on 127.0.0.1 (a free port unless given); resolves with the port. */
  async start(port = 0): Promise<number> {
    this.listenPort = port;
    await this.listen();
    return this.listenPort;
  }

  get port(): number {
    if (!this.listenPort) throw new Error('TcpProxy is not started');
    return this.listenPort;
  }

  /** `url` with its host and port replaced by the proxy's, e.g. an amqp:// URL to route through it. */
  proxiedUrl(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  get connectionCount(): number {
    return this.sockets.size / 2;
  }

  get accepting(): boolean {
    return this.server !== undefined;
  }

  /** Cuts every open connection and refuses new ones. */
  async interrupt(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.destroyAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepts connections again (on the same port). */
  async resume(): Promise<void> {
    if (!this.server) await this.listen();
  }

  /** Cuts all connections, refuses for `ms`, then accepts again. */
  async outage(ms: number): Promise<void> {
    await this.interrupt();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.resume();
  }

  async close(): Promise<void> {
    await this.interrupt();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.relay(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        this.listenPort = (server.address() as AddressInfo).port;
        this.server = server;
        resolve();
      });
    });
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
