import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  ConflictError,
  CreatedKey,
  CreateKeyRequest,
  KeyIdentity,
  KeyView,
  NotFoundError,
  Scope,
} from '@sepal/contracts';
import { CachedKeyVerifier, FailedKeyChecks, type KeyVerifier } from '@sepal/http';
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
@Injectable()
export class KeysService implements KeyVerifier, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Keys');
  private uses = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  /** What the registry's guard and POST /keys/verify use: a revocation clears it, so the registry refuses at once. */
  readonly cached: CachedKeyVerifier;
  /** Failed checks over POST /keys/verify by callers without a valid key of their own. */
  private readonly failures: FailedKeyChecks;

  constructor(
    private readonly repository: KeysRepository,
    @Inject(RegistryConfig) private readonly values: RegistryConfigValues,
  ) {
    this.cached = new CachedKeyVerifier(this, values.SEPAL_KEY_CACHE_MS);
    this.failures = new FailedKeyChecks(values);
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
   * POST /keys/verify: who `secret` belongs to, for a caller. An app relays its clients' keys and sends a valid key of
   * its own: never limited (it limits its clients' failures itself). Any other caller is limited by address, so
   * guessing keys (a scrypt each) cannot load the registry: 429 beyond AUTH_FAILURES_PER_MINUTE failures.
   */
  async verifyFor(
    secret: string,
    caller: { address: string; ownSecret?: string; reply?: FastifyReply },
  ): Promise<KeyIdentity | null> {
    const trusted = caller.ownSecret !== undefined && (await this.isValidKey(caller.ownSecret, caller));
    if (!trusted) this.failures.refuseIfBlocked(caller.address, caller.reply);
    const identity = await this.cached.verify(secret);
    if (!identity && !trusted) this.failures.record(caller.address);
    return identity;
  }

  /** Whether the caller's own key is valid; an invalid one counts as a failure of its address. */
  private async isValidKey(
    ownSecret: string,
    caller: { address: string; reply?: FastifyReply },
  ): Promise<boolean> {
    this.failures.refuseIfBlocked(caller.address, caller.reply);
    if (await this.cached.verify(ownSecret)) return true;
    this.failures.record(caller.address);
    return false;
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
        return { name: key.name, scopes: key.scopes };
      }
    }
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
    if (secret && !keyIdOf(secret)) {
      await this.storeEnvKey(this.values.SEPAL_API_KEY_NAME, ['admin'], secret, 'SEPAL_API_KEY');
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
}
