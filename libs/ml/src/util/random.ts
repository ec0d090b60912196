/**
 * A seeded pseudo-random generator (mulberry32): returns a function yielding floats in [0, 1).
 * Small and fast, with a 32-bit state; good enough for shuffles, splits and test data, not for cryptography.
 */
export function createRng(seed: number): () => number {
  if (!Number.isFinite(seed)) {
    throw new Error(`createRng: the seed must be a finite number, got ${seed}`);
  }
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for an independent stream `stream` of the generator seeded with `seed` (e.g. one per tree), so that any
 * subset of streams can be drawn on its own, in any order, with the same result. Hashes both with murmur3's finaliser.
 */
export function deriveSeed(seed: number, stream: number): number {
  if (!Number.isFinite(seed) || !Number.isInteger(stream) || stream < 0) {
    throw new Error(`deriveSeed: expected a finite seed and a stream index >= 0, got ${seed} and ${stream}`);
  }
  let hash = (Math.trunc(seed) >>> 0) ^ Math.imul(stream + 1, 0x9e3779b1);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
