import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { RegistryConfig, startRegistryApp } from '../../registry/src';
import { ExitCode } from '../src/cli';
import { runCliCaptured } from './support/captured-cli';

jest.setTimeout(90_000);

/** Runs the CLI in this process with these variables, capturing what it prints. */
async function sepal(env: Record<string, string>, args: string[]) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await runCliCaptured(args);
  } finally {
    process.env = saved;
  }
}

describe('sepal keys (embedded adapters)', () => {
  const home = `memory://keys-cli-${uniqueNamespace('keys-cli')}`;
  let registry: NestFastifyApplication | undefined;
  let modelsDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-keys-cli-'));
  });

  afterAll(async () => {
    await registry?.close();
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('makes the first admin key straight in the database, with no service running', async () => {
    const created = await sepal({ SEPAL_HOME: home, LOG_LEVEL: 'error' }, [
      '--json',
      'keys',
      'create',
      'root',
      '--admin',
    ]);
    expect(created.code).toBe(ExitCode.ok);
    const key = JSON.parse(created.out) as { name: string; scopes: string[]; secret: string };
    expect(key).toMatchObject({ name: 'root', scopes: ['admin'] });
    expect(key.secret).toMatch(/^sepal_/);

    // The registry started on that database, with that key as its own, knows it.
    registry = await startRegistryApp(
      RegistryConfig.load({
        SEPAL_HOME: home,
        SEPAL_API_KEY: key.secret,
        REGISTRY_PORT: '0',
        MODELS_DIR: modelsDir,
        LOG_LEVEL: 'error',
      }),
    );
    env = {
      SEPAL_REGISTRY_URL: (await registry.getUrl()).replace('[::1]', '127.0.0.1'),
      SEPAL_API_KEY: key.secret,
    };
    const whoami = await sepal(env, ['keys', 'whoami']);
    expect(whoami.out).toBe('root: admin\n');
  });

  it('creates a key with scopes (secret once), lists keys without secrets, and revokes one', async () => {
    const created = await sepal(env, ['--json', 'keys', 'create', 'shop', '--scopes', 'predict,feedback']);
    expect(created.code).toBe(ExitCode.ok);
    const shop = JSON.parse(created.out) as { name: string; scopes: string[]; secret: string };
    expect(shop).toEqual({
      name: 'shop',
      scopes: ['predict', 'feedback'],
      secret: expect.stringMatching(/^sepal_/),
    });

    const human = await sepal(env, ['keys', 'create', 'ops', '--scopes', 'promote']);
    expect(human.out).toMatch(/^key ops \(promote\)\nsecret: sepal_\S+\nThis secret is shown once/);

    const list = await sepal(env, ['--json', 'keys', 'ls']);
    expect(JSON.parse(list.out).map((k: { name: string }) => k.name)).toEqual(['ops', 'root', 'shop']);
    expect(list.out).not.toContain(shop.secret);
    expect(list.out).not.toContain('secret');

    const asShop = await sepal({ ...env, SEPAL_API_KEY: shop.secret }, ['keys', 'ls']);
    expect(asShop.code).toBe(ExitCode.failed);
    expect(asShop.err).toMatch(/"shop" lacks the scope "admin"/);

    expect((await sepal(env, ['keys', 'revoke', 'shop'])).out).toMatch(/^key shop revoked at /);
    const revoked = await sepal({ ...env, SEPAL_API_KEY: shop.secret }, ['keys', 'whoami']);
    expect(revoked.err).toMatch(/unknown or revoked/);
    expect((await sepal(env, ['keys', 'revoke', 'shop'])).err).toMatch(/no active key named "shop"/);
  });

  it('refuses unknown scopes and names as usage errors', async () => {
    const bad = await sepal(env, ['keys', 'create', 'x', '--scopes', 'predict,fly']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toMatch(/unknown scope fly/);
    expect((await sepal(env, ['keys', 'create', 'Bad Name', '--scopes', 'read'])).code).toBe(ExitCode.usage);
  });
});

describe('sepal keys while keys are off (embedded adapters)', () => {
  let registry: NestFastifyApplication | undefined;
  let modelsDir: string;

  afterAll(async () => {
    await registry?.close();
    await closeEmbeddedDatabases();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  });

  it('refuses a key with scopes (it would limit nothing), saying how to turn keys on; --admin warns', async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-keys-off-'));
    const home = `memory://keys-off-${uniqueNamespace('keys-off')}`;
    registry = await startRegistryApp(
      RegistryConfig.load({
        SEPAL_HOME: home,
        REGISTRY_PORT: '0',
        MODELS_DIR: modelsDir,
        LOG_LEVEL: 'error',
      }),
    );
    const env = { SEPAL_REGISTRY_URL: (await registry.getUrl()).replace('[::1]', '127.0.0.1') };
    const refused = await sepal(env, ['keys', 'create', 'shop', '--scopes', 'predict']);
    expect(refused.code).toBe(ExitCode.failed);
    expect(refused.out).not.toMatch(/secret/);
    expect(refused.err).toMatch(/keys are off/);
    expect(refused.err).toMatch(/set SEPAL_API_KEY/);
    const admin = await sepal({ SEPAL_HOME: home, LOG_LEVEL: 'error' }, [
      'keys',
      'create',
      'root',
      '--admin',
    ]);
    expect(admin.code).toBe(ExitCode.ok);
    expect(admin.err).toMatch(/WARNING: keys are off .*SEPAL_API_KEY to this secret/);
  });
});
