import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N=2^14, r=8, p=1 (the OWASP minimum) with a 16-byte salt per key; runs on libuv's thread pool. */
const SCRYPT = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const HASH_BYTES = 32;

export function hashSecret(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, HASH_BYTES, SCRYPT, (error, hash) => (error ? reject(error) : resolve(hash))),
  );
}

export async function newSaltedHash(secret: string): Promise<{ salt: Buffer; hash: Buffer }> {
  const salt = randomBytes(16);
  return { salt, hash: await hashSecret(secret, salt) };
}

export async function secretMatches(secret: string, salt: Buffer, hash: Buffer): Promise<boolean> {
  const candidate = await hashSecret(secret, salt);
  return candidate.length === hash.length && timingSafeEqual(candidate, hash);
}

/** A generated secret: `sepal_<key id>_<32 random bytes>`; the id (public) finds the row, the rest is the secret. */
export function generateSecret(): { keyId: string; secret: string } {
  const keyId = randomBytes(9).toString('base64url');
  return { keyId, secret: `sepal_${keyId}_${randomBytes(32).toString('base64url')}` };
}

const GENERATED = /^sepal_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;

/** The key id of a generated secret; undefined for a free-form one (SEPAL_API_KEY). */
export function keyIdOf(secret: string): string | undefined {
  return GENERATED.exec(secret)?.[1];
}
