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
