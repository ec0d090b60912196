import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError } from '@sepal/config';
import { createTestDatabase, deleteNamespace, TestDatabase, uniqueNamespace, waitFor } from '@sepal/testing';
import { AMQP_URL } from '../inference/fixtures';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';

jest.setTimeout(120_000);

const CACHE_MS = 1_000;
const BURST = 10;
/** The queues (and their dead-letter queues and apps' exchanges) the registry and the gateway declare, removed afterwards. */
const QUEUES = ['registry.training', 'registry.jobs', 'inference.model-promoted', 'inference.model-traffic'];

interface Sent {
  /** When the request was sent. */
  at: number;
  status: number;
}

/** GET `url` with `key` from `localAddress` (another loopback address is another caller). */
function getFrom(url: string, key: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { 'x-api-key': key }, localAddress }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/**
 * The key limits on real sockets: revocation under concurrent load holds the SEPAL_KEY_CACHE_MS bound on a gateway
 * (and is immediate on the registry), 500 parallel bad keys cost at most AUTH_FAILURE_BURST checks, X-Forwarded-For
 * counts only from SEPAL_TRUSTED_PROXIES, and a revoked bootstrap key stays revoked across a restart.
 */
describe('key limits and revocation (real PostgreSQL and RabbitMQ, real sockets)', () => {
  const adminKey = randomBytes(24).toString('hex');
  const namespace = uniqueNamespace('keylimits');
  const apps: NestFastifyApplication[] = [];
  let modelsDir: string;
  let registryUrl: string;
  let inferenceUrl: string;
  let registry: NestFastifyApplication;
  let db: TestDatabase;

  const call = (
    url: string,
    method: string,
    key?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(url, {
      method,
      headers: {
        ...headers,
        ...(key ? { 'x-api-key': key } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const createKey = async (name: string, scopes: string[]) => {
    const response = await call(`${registryUrl}/keys`, 'POST', adminKey, { name, scopes });
    expect(response.status).toBe(201);
    return ((await response.json()) as { secret: string }).secret;
  };
  const keyChecks = async () =>
    Number(
      /sepal_key_checks_total\{result="unknown"\} (\d+)/.exec(
        await (await fetch(`${registryUrl}/metrics`)).text(),
      )?.[1] ?? 0,
    );

  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-keylimits-'));
    db = await createTestDatabase('sepal_keylimits');
    const env = {
      DATABASE_URL: db.url,
      AMQP_URL,
      SEPAL_NAMESPACE: namespace,
      SEPAL_API_KEY: adminKey,
      SEPAL_KEY_CACHE_MS: String(CACHE_MS),
      AUTH_FAILURE_BURST: String(BURST),
      AUTH_FAILURES_PER_MINUTE: '1',
      SEPAL_TRUSTED_PROXIES: '10.1.1.1',
      MODELS_DIR: modelsDir,
      LOG_LEVEL: 'error',
      REGISTRY_PORT: '0',
      INFERENCE_PORT: '0',
      MODEL_SYNC_INTERVAL_MS: '0',
    };
    registry = await startRegistryApp(RegistryConfig.load(env));
    apps.push(registry);
    registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
    const inference = await startInferenceApp(InferenceConfig.load({ ...env, REGISTRY_URL: registryUrl }));
    apps.push(inference);
    inferenceUrl = (await inference.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await deleteNamespace(AMQP_URL, namespace, QUEUES);
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('refuses a key revoked under concurrent load on the registry at once and on a gateway within SEPAL_KEY_CACHE_MS', async () => {
    const secret = await createKey('loaded', ['read']);
    const sent: Record<'registry' | 'inference', Sent[]> = { registry: [], inference: [] };
    let stop = false;
    const loop = async (app: 'registry' | 'inference') => {
      const url = app === 'registry' ? `${registryUrl}/models` : `${inferenceUrl}/model`;
      while (!stop) {
        const at = Date.now();
        const response = await call(url, 'GET', secret);
        await response.arrayBuffer();
        sent[app].push({ at, status: response.status });
      }
    };
    const loops = Array.from({ length: 16 }, (_, i) => loop(i % 2 === 0 ? 'registry' : 'inference'));
    // Enough answers on each side of each bound to check, however fast this machine answers (not a fixed time).
    const enough = 10;
    await waitFor(() => sent.registry.length > enough && sent.inference.length > enough, {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: `more than ${enough} answers from each app before the revocation`,
    });
    // What was answered before the revocation was sent (not a time: answers of the same millisecond would be lost).
    const answeredBefore = { registry: sent.registry.length, inference: sent.inference.length };
    const revoked = await call(`${registryUrl}/keys/loaded`, 'DELETE', adminKey);
    const revokedAt = Date.now();
    expect(revoked.status).toBe(200);
    const lateAtRegistry = () => sent.registry.filter((s) => s.at >= revokedAt);
    const lateAtGateway = () => sent.inference.filter((s) => s.at >= revokedAt + CACHE_MS);
    await waitFor(() => lateAtRegistry().length > enough && lateAtGateway().length > enough, {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: `more than ${enough} answers to requests sent after each app's bound`,
    });
    stop = true;
    await Promise.all(loops);

    // Refused: 401, or 429 once the address has sent more than AUTH_FAILURE_BURST unknown or revoked keys.
    const refused = (s: Sent) => s.status === 401 || s.status === 429;
    for (const app of ['registry', 'inference'] as const) {
      const before = sent[app].slice(0, answeredBefore[app]);
      expect(before.length).toBeGreaterThan(enough);
      expect(before.filter(refused)).toEqual([]);
    }
    // The registry revoked it in its own process: every request sent after the revocation answered is refused.
    expect(lateAtRegistry().filter((s) => !refused(s))).toEqual([]);
    // A gateway learns it within the bound, checks in flight at the revocation included.
    expect(lateAtGateway().filter((s) => !refused(s))).toEqual([]);
  });

  it('checks at most AUTH_FAILURE_BURST of 500 parallel unknown keys sent to a gateway; the rest are 429 at once', async () => {
    // A key this gateway has seen valid (known good: it needs no failure token when checked again).
    expect(await getFrom(`${inferenceUrl}/model`, adminKey, '127.0.0.2')).not.toBe(401);
    const before = await keyChecks();
    // From 127.0.0.2: an address of its own (the revocation test's refusals were counted against 127.0.0.1).
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        getFrom(
          `${inferenceUrl}/model`,
          `sepal_${randomBytes(9).toString('base64url')}_guess${i}`,
          '127.0.0.2',
        ),
      ),
    );
    const checked = (await keyChecks()) - before;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(BURST);
    expect(answers.filter((s) => s === 401).length).toBeLessThanOrEqual(BURST);
    expect(answers.filter((s) => s === 429).length).toBeGreaterThanOrEqual(500 - BURST);
    // A valid key known to the gateway still passes from the same address, its cached answer expired or not.
    await new Promise((resolve) => setTimeout(resolve, CACHE_MS));
    expect(await getFrom(`${inferenceUrl}/model`, adminKey, '127.0.0.2')).not.toBe(429);
  });

  it('believes X-Forwarded-For only from SEPAL_TRUSTED_PROXIES', async () => {
    const models = (remoteAddress: string, forwardedFor: string, i: number) =>
      registry.inject({
        method: 'GET',
        url: '/models',
        remoteAddress,
        headers: { 'x-api-key': `unknown-key-${remoteAddress}-${i}`, 'x-forwarded-for': forwardedFor },
      });
    // An untrusted peer cannot spread its guesses over made-up addresses.
    const spoofed = [];
    for (let i = 0; i <= BURST; i++) spoofed.push((await models('10.2.2.2', `192.0.2.${i}`, i)).statusCode);
    expect(spoofed.slice(0, BURST).every((s) => s === 401)).toBe(true);
    expect(spoofed[BURST]).toBe(429);
    // Behind the trusted proxy each client has its own allowance: one client's guesses do not lock out another.
    for (let i = 0; i <= BURST; i++) await models('10.1.1.1', '198.51.100.1', i);
    expect((await models('10.1.1.1', '198.51.100.1', 99)).statusCode).toBe(429);
    expect((await models('10.1.1.1', '198.51.100.2', 0)).statusCode).toBe(401);
  });
});

describe('a revoked bootstrap key (real PostgreSQL)', () => {
  let db: TestDatabase;
  let modelsDir: string;

  beforeAll(async () => {
    db = await createTestDatabase('sepal_bootstrap_revoked');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-bootstrap-'));
  });

  afterAll(async () => {
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('stays revoked across a restart: the registry refuses to start until SEPAL_API_KEY is rotated', async () => {
    const first = randomBytes(24).toString('hex');
    const env = (key: string) =>
      RegistryConfig.load({
        DATABASE_URL: db.url,
        SEPAL_NAMESPACE: uniqueNamespace('bootstrap'),
        SEPAL_API_KEY: key,
        MODELS_DIR: modelsDir,
        REGISTRY_PORT: '0',
        LOG_LEVEL: 'error',
      });
    let app = await startRegistryApp(env(first));
    let url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const revoke = await fetch(`${url}/keys/admin`, { method: 'DELETE', headers: { 'x-api-key': first } });
    expect(revoke.status).toBe(200);
    await app.close();

    const restart = startRegistryApp(env(first));
    await expect(restart).rejects.toThrow(ConfigError);
    await expect(startRegistryApp(env(first))).rejects.toThrow(
      /SEPAL_API_KEY: it holds the key "admin", revoked at .*Rotate SEPAL_API_KEY/s,
    );

    const rotated = randomBytes(24).toString('hex');
    app = await startRegistryApp(env(rotated));
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await fetch(`${url}/models`, { headers: { 'x-api-key': rotated } })).status).toBe(200);
    expect((await fetch(`${url}/models`, { headers: { 'x-api-key': first } })).status).toBe(401);
    await app.close();
  });
});
