import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@sepal/testing';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));

/**
 * Debian's nginx (scripts/ensure-test-tools.sh installs it) as a load balancer in front of `upstreams`, the way an
 * ingress controller sits in front of a Deployment's pods: keep-alive connections to them, and a request whose
 * connection is refused (a stopped replica) goes to the next one. It runs as a child process (not a daemon) with its
 * configuration, logs and temporary files in a temporary directory, on a free loopback port.
 */
export class Nginx {
  url = '';
  private child?: ChildProcess;
  private dir = '';
  private readonly output: string[] = [];

  private port = 0;

  async start(upstreams: string[]): Promise<this> {
    if (!NGINX)
      throw new Error('nginx is not installed: run scripts/ensure-test-tools.sh (apt-get install nginx)');
    this.dir = await mkdtemp(join(tmpdir(), 'sepal-nginx-'));
    await mkdir(join(this.dir, 'temp'));
    this.port = await freePort();
    await this.configure(upstreams);
    this.child = spawn(
      NGINX,
      ['-e', join(this.dir, 'error.log'), '-p', this.dir, '-c', join(this.dir, 'nginx.conf')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.url = `http://127.0.0.1:${this.port}`;
    await waitFor(async () => (await fetch(`${this.url}/health/live`).catch(() => undefined)) !== undefined, {
      timeoutMs: 10_000,
      description: `nginx to listen (${this.output.join('')})`,
    });
    return this;
  }

  /**
   * Balances over `upstreams` from now on (a reload: new workers take the new list, the old ones finish their
   * requests), as an ingress controller follows the ready endpoints of a Service.
   */
  async setUpstreams(upstreams: string[]): Promise<void> {
    await this.configure(upstreams);
    this.child?.kill('SIGHUP');
  }

  private async configure(upstreams: string[]): Promise<void> {
    const port = this.port;
    const temp = (name: string) => `${name}_temp_path ${join(this.dir, 'temp', name)};`;
    await writeFile(
      join(this.dir, 'nginx.conf'),
      [
        process.getuid?.() === 0 ? 'user root;' : '',
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(this.dir, 'nginx.pid')};`,
        `error_log ${join(this.dir, 'error.log')} warn;`,
        'events { worker_connections 4096; }',
        'http {',
        // Only what went wrong: the status, and what each upstream tried answered.
        `  map $status $failed { ~^2 0; default 1; }`,
        `  log_format failures '$time_iso8601 $status $upstream_addr $upstream_status';`,
        `  access_log ${join(this.dir, 'failures.log')} failures if=$failed;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${temp(name)}`),
        '  upstream gateways {',
        // Never marked down: a restarted replica takes requests again at once.
        ...upstreams.map((upstream) => `    server ${upstream} max_fails=0;`),
        '    keepalive 32;',
        '  }',
        '  server {',
        `    listen 127.0.0.1:${port};`,
        // One request per client connection: a reload (a change of upstreams) then never closes a client's idle
        // keep-alive connection under it (ingress-nginx changes endpoints without reloading). The connections to the
        // gateways are kept alive (keepalive above).
        '    keepalive_timeout 0;',
        '    location / {',
        '      proxy_pass http://gateways;',
        '      proxy_http_version 1.1;',
        '      proxy_set_header Connection "";',
        // The client's Host, as ingress-nginx passes it (nginx's own default names the upstream group, which a
        // keyless gateway refuses with 421: it answers loopback and SEPAL_ALLOWED_HOSTS names only).
        '      proxy_set_header Host $http_host;',
        // The ingress-nginx default: a refused connection goes to the next upstream; a POST once sent is never retried.
        '      proxy_next_upstream error timeout;',
        '    }',
        '  }',
        '}',
      ].join('\n'),
    );
  }

  /** The requests that did not get a 2xx: `<status> <upstreams tried> <their statuses>` per line. */
  async failures(): Promise<string[]> {
    const log = await readFile(join(this.dir, 'failures.log'), 'utf8').catch(() => '');
    return log.split('\n').filter(Boolean);
  }

  /** nginx's own account of upstream errors (refused or reset connections...). */
  async errors(): Promise<string[]> {
    const log = await readFile(join(this.dir, 'error.log'), 'utf8').catch(() => '');
    return log.split('\n').filter(Boolean);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
