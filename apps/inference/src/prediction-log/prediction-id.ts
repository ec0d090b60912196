import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
const pool = Buffer.alloc(POOL_BYTES);
/** The pool as hex, sliced 19 characters per id (a slice of a flat string is a cheap view in V8). */
let hex = '';
let offset = Number.POSITIVE_INFINITY;
/** The RFC 9562 variant (10xx) for the first hex digit of the fourth group, from any hex digit. */
const VARIANT: Record<string, string> = {};
for (let i = 0; i < 16; i++) VARIANT[i.toString(16)] = ((i & 0x3) | 0x8).toString(16);

let prefixMs = -1;
let prefix = '';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version, then 74 random bits taken from a pooled CSPRNG
 * buffer (one randomFillSync per ~1,700 ids) so ids sort by time (the log's index likes that) and cost about as much
 * as crypto.randomUUID on the hot path (see prediction-id.spec.ts for the figure). Within one millisecond the order
 * is random, which is all the log needs.
 */
export function predictionId(now: number = Date.now()): string {
  if (now !== prefixMs) {
    const time = now.toString(16).padStart(12, '0').slice(-12);
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixMs = now;
  }
  if (offset + 19 > hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    offset = 0;
  }
  const o = offset;
  offset += 19;
  return (
    prefix +
    hex.slice(o, o + 3) +
    '-' +
    VARIANT[hex[o + 3]] +
    hex.slice(o + 4, o + 7) +
    '-' +
    hex.slice(o + 7, o + 19)
  );
}

/** One id per row of an answer, all stamped with the same millisecond. */
export function predictionIds(rows: number): string[] {
  const now = Date.now();
  const ids = new Array<string>(rows);
  for (let i = 0; i < rows; i++) ids[i] = predictionId(now);
  return ids;
}
