/*
 * A rolling update loses nothing: two gateway processes (the build in dist/, on the real RabbitMQ, a real registry
 * serving a champion) behind nginx, under wrk at 64 connections of POST /predict, are each stopped with SIGTERM and
 * started again in turn. nginx plays the ingress controller: it balances over the ready replicas, so a replica leaves
 * its upstream list when it is stopped (Kubernetes takes a terminating pod out of the Service's endpoints at the
 * moment it sends SIGTERM) and returns when /health/ready answers 200 again. The gateway does the rest: it reports not
 * ready and keeps answering for SHUTDOWN_DELAY_MS (requests already routed to it), every answer then closing its
 * keep-alive connection, stops accepting, finishes what is in flight and exits within SHUTDOWN_GRACE_MS.
 * Every request must succeed: no non-2xx answer, no socket error.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, uniqueNamespace, waitFor } from '@sepal/testing';
import { ServiceProcess } from '../e2e/service-process';
import { AMQP_URL, deleteTestQueues, IRIS_RUN_ID, irisOnnx, TestRegistry } from '../inference/fixtures';
import { Nginx } from './nginx';

jest.setTimeout(180_000);

const MAX_SECONDS = 150;
/** Settings changed from the defaults, printed with the figures. */
const SETTINGS = {
  SHUTDOWN_DELAY_MS: '1000',
  SHUTDOWN_GRACE_MS: '10000',
  // One client address (nginx) sends everything: the per-caller rate limit is not what is tested here.
  PREDICT_RATE_PER_KEY: '1000000',
  PREDICT_BURST_PER_KEY: '1000000',
  MODEL_SYNC_INTERVAL_MS: '0',
};
const BODY = '{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}}';

describe('rolling restart of two gateways behind nginx under load', () => {
  const namespace = uniqueNamespace('rolling');
  let registry: TestRegistry;
  let nginx: Nginx;
  let dir: string;
  const gateways: ServiceProcess[] = [];
  const hostOf = (gateway: ServiceProcess) => new URL(gateway.url).host;

  const ready = async (gateway: ServiceProcess) =>
    (await fetch(`${gateway.url}/health/ready`).catch(() => undefined))?.status === 200;

  async function startGateway(gateway: ServiceProcess) {
    gateway.start();
    await waitFor(() => ready(gateway), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: `${gateway.url} to serve the champion:\n${gateway.tail()}`,
    });
  }

  beforeAll(async () => {
    registry = await new TestRegistry().start({ amqpUrl: AMQP_URL, namespace });
    await registry.createRun(IRIS_RUN_ID);
    const { version } = await registry.register('IrisModel', irisOnnx(), IRIS_RUN_ID);
    await registry.promote('IrisModel', version);
    for (const name of ['a', 'b']) {
      const port = await freePort();
      gateways.push(
        new ServiceProcess('inference', `http://127.0.0.1:${port}`, {
          AMQP_URL,
          SEPAL_NAMESPACE: namespace,
          REGISTRY_URL: registry.url,
          INFERENCE_HOST: '127.0.0.1',
          INFERENCE_PORT: String(port),
          INFERENCE_REPLICA_ID: `rolling-${name}`,
          LOG_LEVEL: 'warn',
          ...SETTINGS,
        }),
      );
    }
    await Promise.all(gateways.map((gateway) => startGateway(gateway)));
    nginx = await new Nginx().start(gateways.map(hostOf));
    dir = await mkdtemp(join(tmpdir(), 'sepal-rolling-'));
  });

  afterAll(async () => {
    await nginx?.stop();
    for (const gateway of gateways) await gateway.stop(1000);
    await registry?.stop();
    await deleteTestQueues(namespace, []);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every request with 2xx while each gateway is stopped (SIGTERM) and started again in turn', async () => {
    const script = join(dir, 'predict.lua');
    await writeFile(
      script,
      [
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        `wrk.body = '${BODY}'`,
      ].join('\n'),
    );
    // Until both restarts are done (however long a slow machine takes), then interrupted: wrk prints its summary.
    const wrk = spawn('wrk', [
      '-t2',
      '-c64',
      `-d${MAX_SECONDS}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      `${nginx.url}/predict`,
    ]);
    let stdout = '';
    wrk.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const finished = new Promise((resolve) => wrk.once('exit', resolve));
    const started = Date.now();
    const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const events: string[] = [];
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const gateway of gateways) {
      const signalled = Date.now();
      // Out of the endpoints and SIGTERM at once, as Kubernetes does; it answers what was routed to it meanwhile.
      await nginx.setUpstreams(gateways.filter((other) => other !== gateway).map(hostOf));
      const stopping = gateway.stop(15_000);
      await waitFor(async () => !(await ready(gateway)), { timeoutMs: 2_000, intervalMs: 20 });
      await stopping;
      const stopMs = Date.now() - signalled;
      events.push(`${at()}: ${hostOf(gateway)} stopped by SIGTERM in ${stopMs} ms`);
      expect(stopMs).toBeLessThan(Number(SETTINGS.SHUTDOWN_GRACE_MS));
      await startGateway(gateway);
      await nginx.setUpstreams(gateways.map(hostOf));
      events.push(`${at()}: ${hostOf(gateway)} ready again, back in the upstreams`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Both restarts happened under load.
    expect(wrk.exitCode).toBeNull();
    wrk.kill('SIGINT');
    await finished;
    process.stdout.write(
      `settings changed from the defaults: ${JSON.stringify(SETTINGS)}\n${events.join('\n')}\n${stdout}`,
    );
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    expect(requests).toBeGreaterThan(1000);
    // 499: wrk closing its connections at the end of its run, not an answer.
    const failures = (await nginx.failures()).filter((line) => !/ 499 /.test(line));
    if (failures.length > 0) process.stdout.write(`${(await nginx.errors()).slice(-20).join('\n')}\n`);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(stdout).not.toMatch(/Non-2xx or 3xx responses/);
    expect(stdout).not.toMatch(/Socket errors/);
  });
});
