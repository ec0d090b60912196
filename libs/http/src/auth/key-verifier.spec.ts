import type { KeyIdentity } from '@sepal/contracts';
import { CachedKeyVerifier, presentedSecret } from './key-verifier';

describe('CachedKeyVerifier', () => {
  it('asks once per secret within the TTL, shares concurrent misses, and asks again after it', async () => {
    let now = 0;
    const asked: string[] = [];
    let revoked = false;
    const inner = {
      verify: async (secret: string): Promise<KeyIdentity | null> => {
        asked.push(secret);
        return revoked ? null : { name: 'shop', scopes: ['predict'] };
      },
    };
    const cache = new CachedKeyVerifier(inner, 4_000, 10, () => now);
    await Promise.all([cache.verify('s'), cache.verify('s'), cache.verify('s')]);
    expect(asked).toEqual(['s']);
    revoked = true;
    now = 3_999;
    expect(await cache.verify('s')).toEqual({ name: 'shop', scopes: ['predict'] });
    now = 4_000;
    expect(await cache.verify('s')).toBeNull();
    expect(asked).toEqual(['s', 's']);
  });

  /** A store answering each check when the test says so, as it stood when the check began (a registry round trip). */
  const deferredStore = () => {
    const waiting: (() => void)[] = [];
    const store = {
      revoked: false,
      asked: 0,
      answerAll: () => waiting.splice(0).forEach((answer) => answer()),
      verify: (_secret: string): Promise<KeyIdentity | null> => {
        store.asked++;
        const valid = !store.revoked;
        return new Promise((resolve) =>
          waiting.push(() => resolve(valid ? { name: 'shop', scopes: ['predict'] } : null)),
        );
      },
    };
    return store;
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps an answer until its check STARTED plus the TTL: a check in flight at a revocation cannot outlive the bound', async () => {
    let now = 0;
    const store = deferredStore();
    const cache = new CachedKeyVerifier(store, 4_000, 10, () => now);
    const first = cache.verify('s');
    // The key is revoked at t=100 (elsewhere: no notice); the answer, valid, arrives at t=3,000.
    now = 100;
    store.revoked = true;
    now = 3_000;
    store.answerAll();
    expect(await first).toEqual({ name: 'shop', scopes: ['predict'] });
    expect(cache.known('s')).toEqual({ name: 'shop', scopes: ['predict'] });
    now = 3_999;
    expect(await cache.verify('s')).not.toBeNull();
    // 4,000 after the check began (before 100 + 4,000): no longer trusted, asked again, refused.
    now = 4_000;
    expect(cache.known('s')).toBeUndefined();
    const again = cache.verify('s');
    store.answerAll();
    expect(await again).toBeNull();
  });

  it('joins a check in flight only if it started less than the TTL ago', async () => {
    let now = 0;
    const store = deferredStore();
    const cache = new CachedKeyVerifier(store, 1_000, 10, () => now);
    const checks = [cache.verify('s')];
    now = 500;
    checks.push(cache.verify('s'));
    expect(store.asked).toBe(1);
    now = 1_000;
    store.revoked = true;
    checks.push(cache.verify('s'));
    expect(store.asked).toBe(2);
    store.answerAll();
    expect((await Promise.all(checks)).map((identity) => identity?.name ?? null)).toEqual([
      'shop',
      'shop',
      null,
    ]);
  });

  it('after clear() (a revocation in this process), a check still in flight is asked again, never cached or answered stale', async () => {
    const now = 0;
    const store = deferredStore();
    const cache = new CachedKeyVerifier(store, 4_000, 10, () => now);
    const before = cache.verify('s');
    store.revoked = true;
    cache.clear();
    store.answerAll(); // the first check answers "valid" (it began before the revocation)
    await flush();
    expect(store.asked).toBe(2);
    store.answerAll();
    expect(await before).toBeNull();
    expect(cache.known('s')).toBeNull();
  });

  it('knows which keys were valid when last checked (and forgets one found revoked)', async () => {
    let valid = true;
    let now = 0;
    const cache = new CachedKeyVerifier(
      { verify: async () => (valid ? { name: 'shop', scopes: ['predict'] } : null) },
      1_000,
      10,
      () => now,
    );
    expect(cache.wasValid('s')).toBe(false);
    await cache.verify('s');
    now = 5_000;
    expect(cache.known('s')).toBeUndefined();
    expect(cache.wasValid('s')).toBe(true);
    valid = false;
    await cache.verify('s');
    expect(cache.wasValid('s')).toBe(false);
  });

  it('stays within its size bound', async () => {
    const asked: string[] = [];
    const cache = new CachedKeyVerifier({ verify: async (s) => (asked.push(s), null) }, 60_000, 2, () => 0);
    for (const s of ['a', 'b', 'c', 'a']) await cache.verify(s);
    expect(asked).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('presentedSecret', () => {
  it('reads X-API-Key first, then a bearer token', () => {
    expect(presentedSecret({ 'x-api-key': 'k', authorization: 'Bearer b' })).toBe('k');
    expect(presentedSecret({ authorization: 'bearer  b ' })).toBe('b');
    expect(presentedSecret({ authorization: 'Basic xyz' })).toBeUndefined();
    expect(presentedSecret({})).toBeUndefined();
  });
});
