import { createHash } from 'node:crypto';
import { keyIdentitySchema, type KeyIdentity } from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';

/** Who a secret belongs to; null for an unknown or revoked key. Throws when it cannot tell (registry unreachable). */
export interface KeyVerifier {
  verify(secret: string): Promise<KeyIdentity | null>;
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

/**
 * Remembers each answer for `ttlMs` (at most 5 s, so a revocation reaches every app within that bound): on a hit the
 * check costs a hash and a map lookup, no network round trip and no scrypt. Concurrent misses of one secret share a
 * single verification. The map holds digests of secrets, never secrets, and at most `maxEntries`.
 */
export class CachedKeyVerifier implements KeyVerifier {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<KeyIdentity | null>>();

  constructor(
    private readonly inner: KeyVerifier,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(secret: string): Promise<KeyIdentity | null> {
    const digest = createHash('sha256').update(secret).digest('base64');
    const cached = this.entries.get(digest);
    if (cached && cached.until > this.now()) return cached.identity;
    const inFlight = this.pending.get(digest);
    if (inFlight) return inFlight;
    const verification = this.inner
      .verify(secret)
      .then((identity) => {
        if (this.ttlMs > 0) {
          if (this.entries.size >= this.maxEntries) this.evictExpiredOrOldest();
          this.entries.set(digest, { identity, until: this.now() + this.ttlMs });
        }
        return identity;
      })
      .finally(() => this.pending.delete(digest));
    this.pending.set(digest, verification);
    return verification;
  }

  /** Forgets every answer (after a revocation in this process). */
  clear(): void {
    this.entries.clear();
  }

  private evictExpiredOrOldest(): void {
    const now = this.now();
    for (const [digest, entry] of this.entries) if (entry.until <= now) this.entries.delete(digest);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

/**
 * The apps other than the registry ask the registry (POST /keys/verify); put a CachedKeyVerifier in front. Each sends
 * its own key (SEPAL_API_KEY): the registry limits failed checks by address only for callers without a valid key,
 * since an app relays the checks of all its clients (and limits their failures itself).
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
