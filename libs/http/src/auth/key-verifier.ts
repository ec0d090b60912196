import { createHash } from 'node:crypto';
import { keyIdentitySchema, type KeyIdentity } from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';

/** Who a secret belongs to; null for an unknown or revoked key. Throws when it cannot tell (registry unreachable). */
export interface KeyVerifier {
  verify(secret: string): Promise<KeyIdentity | null>;
  /**
   * The answer already known for `secret` without asking anyone: its identity, null (known unknown or revoked), or
   * undefined (not known: a check is needed). Verifiers without a cache leave it out.
   */
  known?(secret: string): KeyIdentity | null | undefined;
  /** Whether `secret` was a valid key when last checked (so a check of it is no guess). */
  wasValid?(secret: string): boolean;
  /** The check of `secret` already under way that a request may share (no new check, so no new slot), if any. */
  inFlight?(secret: string): Promise<KeyIdentity | null> | undefined;
}

/** The secret as the caller sent it, in X-API-Key or as a bearer token. */
export function presentedSecret(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers['x-api-key'];
  const given = Array.isArray(header) ? header[0] : header;
  if (given) return given;
  const authorization = headers.authorization;
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = value ? /^Bearer\s+(.+)$/i.exec(value) : null;
  return match?.[1]?.trim() || undefined;
}

interface CacheEntry {
  identity: KeyIdentity | null;
  until: number;
}

interface PendingCheck {
  answer: Promise<KeyIdentity | null>;
  startedAt: number;
  epoch: number;
}

const digestOf = (secret: string): string => createHash('sha256').update(secret).digest('base64');

/**
 * Remembers each answer for `ttlMs` (at most 5 s, so a revocation reaches every app within that bound): on a hit the
 * check costs a hash and a map lookup, no network round trip and no scrypt. The maps hold digests of secrets, never
 * secrets, and at most `maxEntries` each.
 *
 * Revocation is exact: an answer is kept until the moment its check STARTED plus `ttlMs` (not until it arrived plus
 * `ttlMs`: a check started before a revocation and answered after it cannot outlive the bound), a concurrent miss
 * joins a check in flight only if that check started less than `ttlMs` ago, and `clear()` (the registry, on a
 * revocation in its own process) starts a new epoch: a check of an earlier epoch still in flight is asked again rather
 * than cached or answered, so a key revoked in this process is refused from that moment on.
 */
export class CachedKeyVerifier implements KeyVerifier {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, PendingCheck>();
  /** Digests of keys that were valid when last checked, by when (bounded like the cache). */
  private readonly valid = new Map<string, number>();
  private epoch = 0;

  constructor(
    private readonly inner: KeyVerifier,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  known(secret: string): KeyIdentity | null | undefined {
    const cached = this.entries.get(digestOf(secret));
    return cached && cached.until > this.now() ? cached.identity : undefined;
  }

  wasValid(secret: string): boolean {
    return this.valid.has(digestOf(secret));
  }

  inFlight(secret: string): Promise<KeyIdentity | null> | undefined {
    return this.joinable(digestOf(secret));
  }

  async verify(secret: string): Promise<KeyIdentity | null> {
    const digest = digestOf(secret);
    const cached = this.entries.get(digest);
    if (cached && cached.until > this.now()) return cached.identity;
    return this.joinable(digest) ?? this.ask(secret, digest);
  }

  /** A check in flight of this epoch that began less than the TTL ago (its answer is within the bound). */
  private joinable(digest: string): Promise<KeyIdentity | null> | undefined {
    const inFlight = this.pending.get(digest);
    return inFlight && inFlight.epoch === this.epoch && this.now() - inFlight.startedAt < this.ttlMs
      ? inFlight.answer
      : undefined;
  }

  /** Forgets every answer and starts a new epoch (after a revocation in this process). */
  clear(): void {
    this.entries.clear();
    this.epoch++;
  }

  private ask(secret: string, digest: string): Promise<KeyIdentity | null> {
    const startedAt = this.now();
    const epoch = this.epoch;
    const answer: Promise<KeyIdentity | null> = this.inner
      .verify(secret)
      .then((identity) => {
        // Revoked meanwhile in this process: this answer may predate the revocation; ask again.
        if (epoch !== this.epoch) return this.ask(secret, digest);
        this.remember(digest, identity, startedAt);
        return identity;
      })
      .finally(() => {
        if (this.pending.get(digest)?.answer === answer) this.pending.delete(digest);
      });
    this.pending.set(digest, { answer, startedAt, epoch });
    return answer;
  }

  private remember(digest: string, identity: KeyIdentity | null, startedAt: number): void {
    if (identity) {
      if (!this.valid.has(digest) && this.valid.size >= this.maxEntries) this.dropOldest(this.valid);
      this.valid.set(digest, startedAt);
    } else this.valid.delete(digest);
    const until = startedAt + this.ttlMs;
    if (this.ttlMs <= 0 || until <= this.now()) return;
    if (!this.entries.has(digest) && this.entries.size >= this.maxEntries) this.evictExpiredOrOldest();
    this.entries.set(digest, { identity, until });
  }

  private evictExpiredOrOldest(): void {
    const now = this.now();
    for (const [digest, entry] of this.entries) if (entry.until <= now) this.entries.delete(digest);
    if (this.entries.size >= this.maxEntries) this.dropOldest(this.entries);
  }

  private dropOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}

/**
 * The apps other than the registry ask the registry (POST /keys/verify); put a CachedKeyVerifier in front. Each sends
 * its own key (SEPAL_API_KEY), which must carry the `service` scope (admin implies it): the registry answers only
 * service identities, and each app limits its own callers' failures by their address.
 */
export class RegistryKeyVerifier implements KeyVerifier {
  private readonly client: ServiceClient;

  constructor(registryUrl: string, ownKey?: string, timeoutMs = 5_000) {
    this.client = new ServiceClient({
      service: 'registry',
      baseUrl: registryUrl,
      timeoutMs,
      apiKey: ownKey,
      unreachableHint: 'Keys are checked by the registry: start it, or point REGISTRY_URL at it.',
    });
  }

  async verify(secret: string): Promise<KeyIdentity | null> {
    try {
      return await this.client.post('/keys/verify', { secret }, { schema: keyIdentitySchema });
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 401) return null;
      throw error;
    }
  }
}
