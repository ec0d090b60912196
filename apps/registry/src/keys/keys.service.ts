import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigError } from '@sepal/config';
import {
  ConflictError,
  CreatedKey,
  InvalidInputError,
  CreateKeyRequest,
  KeyIdentity,
  KeyView,
  NotFoundError,
  Scope,
} from '@sepal/contracts';
import { ANONYMOUS, CachedKeyVerifier, FailedKeyChecks, type KeyVerifier } from '@sepal/http';
import { AppMetricsRegistry, counter } from '@sepal/observability';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import { generateSecret, keyIdOf, newSaltedHash, secretMatches } from './key-secrets';
import { KeysRepository, StoredKey } from './keys.repository';

/**
 * API keys: identities with scopes, stored hashed. Creates, lists and revokes them, checks a secret (the registry's
 * own guard and, over POST /keys/verify, every other app's), records when each was last used in batches, and on start
 * turns SEPAL_API_KEY into the bootstrap admin key.
 */
/** How many revoked bootstrap keys of SEPAL_API_KEY_NAME a start compares SEPAL_API_KEY with (a scrypt each). */
const REVOKED_BOOTSTRAP_CHECKS = 20;

@Injectable()
export class KeysService implements KeyVerifier, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Keys');
  private uses = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  /** What the registry's guard and POST /keys/verify use: a revocation clears it, so the registry refuses at once. */
  readonly cached: CachedKeyVerifier;
  /**
   * What key checks may cost here: the registry's guard (by caller address) and POST /keys/verify (by service
   * identity) share it, so AUTH_CHECKS_IN_FLIGHT caps the scrypts running at once, whoever asks.
   */
  readonly checks: FailedKeyChecks;
  private readonly checked = counter({
    name: 'sepal_key_checks_total',
    help: 'API keys checked against the key store (one scrypt each; cached answers are not counted), by result.',
    labelNames: ['result'] as const,
  });

  constructor(
    private readonly repository: KeysRepository,
    @Inject(RegistryConfig) private readonly values: RegistryConfigValues,
    registry: AppMetricsRegistry = new AppMetricsRegistry(),
  ) {
    registry.addMetricsOf(this);
    this.cached = new CachedKeyVerifier(this, values.SEPAL_KEY_CACHE_MS);
    this.checks = new FailedKeyChecks(values);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bootstrapFromEnv();
    this.timer = setInterval(() => void this.flushUses(), this.values.REGISTRY_KEY_USAGE_FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushUses();
  }

  async create(
    request: CreateKeyRequest,
    createdBy: string | null,
    source: StoredKey['source'] = 'api',
  ): Promise<CreatedKey> {
    this.refuseUnusable(request.name, source);
    const { keyId, secret } = generateSecret();
    const { salt, hash } = await newSaltedHash(secret);
    const scopes = [...new Set(request.scopes)];
    const inserted = await this.repository.insert({
      keyId,
      name: request.name,
      scopes,
      source,
      salt,
      hash,
      createdBy,
    });
    if (!inserted) {
      throw new ConflictError(
        `a key named "${request.name}" already exists`,
        `Pick another name, or revoke it first (sepal keys revoke ${request.name}).`,
      );
    }
    this.logger.log(
      `key ${request.name} created with scopes ${scopes.join(',')} by ${createdBy ?? '(database)'}`,
    );
    return { name: request.name, scopes, secret };
  }

  list(includeRevoked: boolean): Promise<KeyView[]> {
    return this.repository.list(includeRevoked);
  }

  async revoke(name: string, by: string): Promise<KeyView> {
    const revoked = await this.repository.revoke(name, by);
    if (!revoked) {
      throw new NotFoundError(`no active key named "${name}"`, 'List the keys with `sepal keys ls`.');
    }
    this.cached.clear();
    this.logger.log(`key ${name} revoked by ${by}`);
    return revoked;
  }

  /**
   * POST /keys/verify: who `secret` belongs to, asked by a service identity (a key with the `service` scope, which the
   * guard has checked) on behalf of its own callers, whose failures it limits by their address itself. A cached answer
   * costs nothing; a check takes a slot of AUTH_CHECKS_IN_FLIGHT (429 at once beyond it), never a failure token.
   */
  async verifyFor(secret: string, reply?: FastifyReply): Promise<KeyIdentity | null> {
    const known = this.cached.known(secret);
    if (known !== undefined) return known;
    const shared = this.cached.inFlight(secret);
    if (shared) return shared;
    const ticket = this.checks.begin('service', { failure: false, perAddress: false, reply });
    let identity: KeyIdentity | null = null;
    try {
      identity = await this.cached.verify(secret);
    } finally {
      ticket.settle(identity !== null);
    }
    return identity;
  }

  /**
   * A key that would look like a limit and not be one, or would take a name the system uses, is refused: over the API
   * while keys are off (every caller is the anonymous admin, whatever key it sends), and the names `anonymous` (the
   * caller when keys are off) and SEPAL_API_KEY_NAME while SEPAL_API_KEY holds the bootstrap key of that name.
   */
  private refuseUnusable(name: string, source: StoredKey['source']): void {
    const secret = this.values.SEPAL_API_KEY;
    if (!secret && source === 'api') {
      throw new ConflictError(
        'keys are off: no SEPAL_API_KEY is set, so every caller is the anonymous admin and a key would limit nothing',
        'Turn keys on first: set SEPAL_API_KEY to a secret of at least 16 characters (e.g. `openssl rand -hex 32`) ' +
          'for every app, restart (`npm start` / `sepal up`), then create keys with that admin key in SEPAL_API_KEY.',
      );
    }
    const bootstrapName = secret && !keyIdOf(secret) ? this.values.SEPAL_API_KEY_NAME : undefined;
    if (name === ANONYMOUS.name || name === bootstrapName) {
      throw new InvalidInputError(
        `the key name "${name}" is reserved (${name === ANONYMOUS.name ? 'the caller when keys are off' : 'the bootstrap key of SEPAL_API_KEY, SEPAL_API_KEY_NAME'})`,
        'Pick another name.',
      );
    }
  }

  /** Who a secret belongs to, or null. One scrypt per check: callers cache the answer (CachedKeyVerifier). */
  async verify(secret: string): Promise<KeyIdentity | null> {
    const keyId = keyIdOf(secret);
    const candidates = keyId
      ? [await this.repository.findActiveById(keyId)].filter((k): k is StoredKey => k !== null)
      : await this.repository.activeEnvKeys();
    for (const key of candidates) {
      if (await secretMatches(secret, key.salt, key.hash)) {
        this.uses.set(key.keyId, new Date());
        this.checked.inc({ result: 'valid' });
        return { name: key.name, scopes: key.scopes };
      }
    }
    this.checked.inc({ result: 'unknown' });
    return null;
  }

  /** Writes the batch of last-used times in one statement. */
  async flushUses(): Promise<void> {
    if (this.uses.size === 0) return;
    const batch = this.uses;
    this.uses = new Map();
    try {
      await this.repository.recordUse(batch);
    } catch (error) {
      for (const [id, at] of batch) if (!this.uses.has(id)) this.uses.set(id, at);
      this.logger.warn(
        `cannot record key use yet: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /**
   * SEPAL_API_KEY is the bootstrap admin: stored (hashed) as the admin key SEPAL_API_KEY_NAME names, its hash replaced
   * when the variable changes (rotation). A key made by `sepal keys create` may be given instead: nothing to store.
   * SEPAL_SERVICE_KEYS adds each app's own least-scope key the same way (docker-compose gives every app its own).
   */
  private async bootstrapFromEnv(): Promise<void> {
    const secret = this.values.SEPAL_API_KEY;
    if (secret) {
      const generatedId = keyIdOf(secret);
      if (generatedId) {
        const revoked = await this.repository.findRevokedById(generatedId);
        if (revoked && (await secretMatches(secret, revoked.salt, revoked.hash))) {
          this.refuseRevoked(revoked, 'SEPAL_API_KEY');
        }
      } else {
        await this.storeEnvKey(this.values.SEPAL_API_KEY_NAME, ['admin'], secret, 'SEPAL_API_KEY');
      }
    }
    for (const key of this.values.SEPAL_SERVICE_KEYS) {
      await this.storeEnvKey(key.name, key.scopes, key.secret, 'SEPAL_SERVICE_KEYS');
    }
  }

  /** Stores a key given in the environment (`variable`), or replaces its hash when its secret changed. */
  private async storeEnvKey(name: string, scopes: Scope[], secret: string, variable: string): Promise<void> {
    const existing = await this.repository.findActiveByName(name);
    if (existing && existing.source !== 'env') {
      this.logger.error(
        `${name} (from ${variable}) is the name of a key made with sepal keys create: it is not stored. ` +
          'Give it another name.',
      );
      return;
    }
    if (existing && (await secretMatches(secret, existing.salt, existing.hash))) return;
    if (!existing) {
      for (const revoked of await this.repository.revokedEnvKeys(name, REVOKED_BOOTSTRAP_CHECKS)) {
        if (await secretMatches(secret, revoked.salt, revoked.hash)) this.refuseRevoked(revoked, variable);
      }
    }
    const { salt, hash } = await newSaltedHash(secret);
    if (existing) {
      await this.repository.replaceSecret(existing.keyId, salt, hash);
      this.cached.clear();
      this.logger.log(`bootstrap key ${name}: ${variable} changed, the old secret no longer works`);
      return;
    }
    await this.repository.insert({
      keyId: `env-${name}-${randomBytes(6).toString('hex')}`,
      name,
      scopes,
      source: 'env',
      salt,
      hash,
      createdBy: variable,
    });
    this.logger.log(`bootstrap key ${name} (${scopes.join(',')}) stored from ${variable}`);
  }

  /** A revoked key stays revoked: an environment variable holding one stops the start rather than bringing it back. */
  private refuseRevoked(key: StoredKey, variable: string): never {
    throw new ConfigError([
      `${variable}: it holds the key "${key.name}", revoked at ${key.revokedAt ?? '(unknown)'}; a revoked key stays ` +
        `revoked. Rotate ${variable}: give it a new secret (e.g. \`openssl rand -hex 32\`) for every app that holds ` +
        'it and start again (the new secret becomes the key).',
    ]);
  }
}
