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
