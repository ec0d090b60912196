import { ConfigError } from '@sepal/config';
import { ConflictError, InvalidInputError, NotFoundError } from '@sepal/contracts';
import { FakeKeysRepository } from '../../test/fakes/keys-fakes';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

const config = (env: Record<string, string | undefined> = {}): RegistryConfigValues =>
  RegistryConfig.load({ SEPAL_KEY_CACHE_MS: '0', SEPAL_API_KEY: 'spec-bootstrap-admin-key', ...env });

describe('KeysService', () => {
  /** A registry start on `repository` with these variables: the service after its bootstrap (uses flushed). */
  const startOn = async (repository: FakeKeysRepository, env: Record<string, string>) => {
    const keys = new KeysService(repository as unknown as KeysRepository, config(env));
    await keys.onApplicationBootstrap();
    await keys.onModuleDestroy();
    return keys;
  };
  const make = (env?: Record<string, string | undefined>) => {
    const repository = new FakeKeysRepository();
    return { repository, keys: new KeysService(repository as unknown as KeysRepository, config(env)) };
  };

  it('makes a key whose secret is returned once and stored only as a salted scrypt hash', async () => {
    const { repository, keys } = make();
    const created = await keys.create({ name: 'shop', scopes: ['predict', 'feedback', 'predict'] }, 'root');
    expect(created).toEqual({
      name: 'shop',
      scopes: ['predict', 'feedback'],
      secret: expect.stringMatching(/^sepal_/),
    });
    const [row] = repository.rows;
    expect(JSON.stringify(row)).not.toContain(created.secret.split('_').pop());
    expect(row.hash).toHaveLength(32);
    expect(row.salt).toHaveLength(16);
    expect(row.createdBy).toBe('root');
    const other = await keys.create({ name: 'other', scopes: ['read'] }, 'root');
    expect(repository.rows[1].salt.equals(row.salt)).toBe(false);
    expect(await keys.verify(other.secret)).toEqual({ name: 'other', scopes: ['read'] });
    await expect(keys.create({ name: 'shop', scopes: ['read'] }, 'root')).rejects.toThrow(ConflictError);
  });

  it('knows a secret, not a near one, and forgets a revoked key', async () => {
    const { keys } = make();
    const { secret } = await keys.create({ name: 'shop', scopes: ['predict'] }, 'root');
    expect(await keys.verify(secret)).toEqual({ name: 'shop', scopes: ['predict'] });
    expect(await keys.verify(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(await keys.verify('sepal_nope')).toBeNull();
    expect((await keys.revoke('shop', 'root')).revokedAt).not.toBeNull();
    expect(await keys.verify(secret)).toBeNull();
    await expect(keys.revoke('shop', 'root')).rejects.toThrow(NotFoundError);
    // The name is free again once revoked.
    await keys.create({ name: 'shop', scopes: ['read'] }, 'root');
  });

  it("stores each app's own key from SEPAL_SERVICE_KEYS with its scopes, beside the bootstrap admin", async () => {
    const trainerKey = 'b7e1c9d04f2a68e3a5c7d9e1f3b5a7c9';
    const { keys } = make({
      SEPAL_API_KEY: 'f00dfeedc0ffee4242deadbeef123456',
      SEPAL_SERVICE_KEYS: `svc-trainer=read,train,promote:${trainerKey} svc-data=read:0a1b2c3d4e5f60718293a4b5c6d7e8f9`,
    });
    await keys.onApplicationBootstrap();
    await keys.onModuleDestroy();
    expect(await keys.verify(trainerKey)).toEqual({
      name: 'svc-trainer',
      scopes: ['read', 'train', 'promote'],
    });
    expect(await keys.verify('f00dfeedc0ffee4242deadbeef123456')).toEqual({
      name: 'admin',
      scopes: ['admin'],
    });
    expect(() => config({ SEPAL_SERVICE_KEYS: 'svc-x=read:change-me-please-now' })).toThrow(
      /SEPAL_SERVICE_KEYS: entry 1 \(svc-x\): secret is a placeholder/,
    );
    expect(() => config({ SEPAL_SERVICE_KEYS: 'svc-x=read:change-me-please-now' })).not.toThrow(
      /change-me-please/,
    );
  });

  it('records uses in one batch, not one write per check', async () => {
    const { repository, keys } = make();
    const { secret } = await keys.create({ name: 'shop', scopes: ['predict'] }, 'root');
    for (let i = 0; i < 5; i++) await keys.verify(secret);
    expect(repository.rows[0].lastUsedAt).toBeNull();
    await keys.flushUses();
    await keys.flushUses();
    expect(repository.useBatches).toBe(1);
    expect(repository.rows[0].lastUsedAt).not.toBeNull();
  });

  it('stores SEPAL_API_KEY as the bootstrap admin, once, and replaces its hash when it changes', async () => {
    const repository = new FakeKeysRepository();
    const keys = await startOn(repository, {
      SEPAL_API_KEY: 'first-bootstrap-secret',
      SEPAL_API_KEY_NAME: 'boot',
    });
    expect(await keys.verify('first-bootstrap-secret')).toEqual({ name: 'boot', scopes: ['admin'] });
    const again = await startOn(repository, {
      SEPAL_API_KEY: 'second-bootstrap-secret',
      SEPAL_API_KEY_NAME: 'boot',
    });
    expect(repository.rows).toHaveLength(1);
    expect(await again.verify('first-bootstrap-secret')).toBeNull();
    expect(await again.verify('second-bootstrap-secret')).toEqual({ name: 'boot', scopes: ['admin'] });
  });

  it("refuses reserved names: anonymous, and the bootstrap key's name while SEPAL_API_KEY holds it", async () => {
    const { keys } = make({ SEPAL_API_KEY_NAME: 'boot' });
    await expect(keys.create({ name: 'anonymous', scopes: ['read'] }, 'root')).rejects.toThrow(
      InvalidInputError,
    );
    await expect(keys.create({ name: 'boot', scopes: ['read'] }, 'root')).rejects.toThrow(
      /"boot" is reserved/,
    );
    await expect(keys.create({ name: 'boot', scopes: ['admin'] }, null, 'cli')).rejects.toThrow(/reserved/);
    await keys.create({ name: 'admin', scopes: ['read'] }, 'root');
  });

  it('refuses to make a key over the API while keys are off, saying how to turn them on', async () => {
    const { repository, keys } = make({ SEPAL_API_KEY: undefined });
    const made = keys.create({ name: 'shop', scopes: ['predict'] }, 'anonymous');
    await expect(made).rejects.toThrow(ConflictError);
    await expect(keys.create({ name: 'shop', scopes: ['predict'] }, 'anonymous')).rejects.toMatchObject({
      message: expect.stringMatching(/keys are off/),
      hint: expect.stringMatching(/set SEPAL_API_KEY/),
    });
    expect(repository.rows).toHaveLength(0);
    // `sepal keys create --admin` (the database, no service) still makes the first admin key to turn keys on with.
    expect((await keys.create({ name: 'root', scopes: ['admin'] }, null, 'cli')).secret).toMatch(/^sepal_/);
  });

  it('refuses to start with a revoked bootstrap key, free-form or generated, saying to rotate SEPAL_API_KEY', async () => {
    const repository = new FakeKeysRepository();
    const env = { SEPAL_API_KEY: 'revoked-bootstrap-secret', SEPAL_API_KEY_NAME: 'boot' };
    await (await startOn(repository, env)).revoke('boot', 'boot');
    await expect(startOn(repository, env)).rejects.toThrow(ConfigError);
    await expect(startOn(repository, env)).rejects.toThrow(/revoked.*Rotate SEPAL_API_KEY/s);
    expect(repository.rows.filter((r) => !r.revokedAt)).toHaveLength(0);
    // A new secret is a rotation: it becomes the bootstrap key.
    const rotated = await startOn(repository, { ...env, SEPAL_API_KEY: 'rotated-bootstrap-secret' });
    expect(await rotated.verify('rotated-bootstrap-secret')).toEqual({ name: 'boot', scopes: ['admin'] });

    const generated = await rotated.create({ name: 'ops', scopes: ['admin'] }, 'boot');
    await rotated.revoke('ops', 'boot');
    await expect(startOn(repository, { SEPAL_API_KEY: generated.secret })).rejects.toThrow(/"ops", revoked/);
  });

  it('answers POST /keys/verify from the cache without a slot, and caps the checks running at once', async () => {
    const { keys } = make({ SEPAL_KEY_CACHE_MS: '5000', AUTH_CHECKS_IN_FLIGHT: '1' });
    const { secret } = await keys.create({ name: 'shop', scopes: ['predict'] }, 'root');
    const first = keys.verifyFor(secret);
    await expect(keys.verifyFor('sepal_another_guess')).rejects.toThrow(/AUTH_CHECKS_IN_FLIGHT=1/);
    expect(await first).toEqual({ name: 'shop', scopes: ['predict'] });
    expect(keys.checks.running).toBe(0);
    expect(await keys.verifyFor(secret)).toEqual({ name: 'shop', scopes: ['predict'] });
  });
});
