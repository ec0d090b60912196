import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { startRegistryApp } from '../src/bootstrap';
import { KeysService } from '../src/keys/keys.service';
import { RegistryConfig } from '../src/registry.config';

jest.setTimeout(30_000);

const ADMIN_KEY = 'key-guessing-test-admin-key';
const guess = (i: number) => `guessed-key-number-${i}-of-many`;

/**
 * Guessing keys costs a scrypt per guess: an address that keeps sending unknown keys is answered 429 before any check
 * (the failure token is taken before the check, so parallel guesses cannot all start); POST /keys/verify answers only
 * service identities, which are not limited by their address (they relay their clients' checks).
 */
describe('failed key checks are limited by address (embedded adapters)', () => {
  let app: NestFastifyApplication;
  let modelsDir: string;

  beforeAll(async () => {
    const namespace = uniqueNamespace('keyguess');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-keyguess-'));
    const config = RegistryConfig.load({
      SEPAL_HOME: `memory://keyguess-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      MODELS_DIR: modelsDir,
      SEPAL_API_KEY: ADMIN_KEY,
      AUTH_FAILURES_PER_MINUTE: '1',
      AUTH_FAILURE_BURST: '3',
      LOG_LEVEL: 'error',
    });
    app = await startRegistryApp(config, { listen: false });
  });

  afterAll(async () => {
    await app?.close();
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  });

  const models = (address: string, key: string) =>
    app.inject({ method: 'GET', url: '/models', remoteAddress: address, headers: { 'x-api-key': key } });
  const verify = (address: string, secret: string, ownKey?: string) =>
    app.inject({
      method: 'POST',
      url: '/keys/verify',
      remoteAddress: address,
      headers: ownKey ? { 'x-api-key': ownKey } : {},
      payload: { secret },
    });

  it('answers 401 for the first AUTH_FAILURE_BURST unknown keys of an address, then 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await models('10.0.0.1', guess(i))).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    const limited = await models('10.0.0.1', guess(3));
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json().message).toMatch(/AUTH_FAILURES_PER_MINUTE/);
    // Another address is not affected, and a valid key works there.
    expect((await models('10.0.0.2', ADMIN_KEY)).statusCode).toBe(200);
    expect((await models('10.0.0.2', guess(4))).statusCode).toBe(401);
  });

  it('never counts valid keys: an address sending only valid keys is never limited', async () => {
    for (let i = 0; i < 10; i++) expect((await models('10.0.0.3', ADMIN_KEY)).statusCode).toBe(200);
  });

  it('answers POST /keys/verify only for service identities; a wrong key of its own counts as a failure', async () => {
    const keys = app.get(KeysService);
    const shop = await keys.create({ name: 'shop', scopes: ['predict'] }, 'admin');
    const gateway = await keys.create({ name: 'gateway', scopes: ['service'] }, 'admin');
    const anonymous = await verify('10.0.0.4', shop.secret);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().message).toMatch(/needs an API key/);
    const notService = await verify('10.0.0.4', shop.secret, shop.secret);
    expect(notService.statusCode).toBe(403);
    expect(notService.json().message).toMatch(/lacks the scope "service"/);
    expect((await verify('10.0.0.4', shop.secret, gateway.secret)).json()).toEqual({
      name: 'shop',
      scopes: ['predict'],
    });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await verify('10.0.0.5', guess(0), guess(i))).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('does not limit a service relaying its clients’ checks by its address (each app limits its own callers)', async () => {
    for (let i = 0; i < 10; i++) expect((await verify('10.0.0.6', guess(i), ADMIN_KEY)).statusCode).toBe(401);
    expect((await verify('10.0.0.6', ADMIN_KEY, ADMIN_KEY)).json()).toMatchObject({ name: 'admin' });
  });

  it('runs at most AUTH_FAILURE_BURST checks for 500 parallel unknown keys from one address; the rest are 429 at once', async () => {
    const checks = async () =>
      Number(
        /sepal_key_checks_total\{result="unknown"\} (\d+)/.exec(
          (await app.inject({ method: 'GET', url: '/metrics' })).body,
        )?.[1] ?? 0,
      );
    const before = await checks();
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) => models('10.0.0.7', `parallel-guess-${i}-of-500`)),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    const checked = (await checks()) - before;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 401)).toHaveLength(checked);
    expect(statuses.filter((s) => s === 429)).toHaveLength(500 - checked);
    // The valid key still passes from that address.
    expect((await models('10.0.0.7', ADMIN_KEY)).statusCode).toBe(200);
  });
});
