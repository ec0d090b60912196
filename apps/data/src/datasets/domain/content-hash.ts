import { createHash } from 'node:crypto';
import type { DatasetSchema } from '@sepal/contracts';

const MODULUS = 1n << 256n;

/**
 * The multiset hash of a version's rows: the sum modulo 2^256 of every row's SHA-256 digest, given as eight sums of
 * its 32-bit words (what the database adds up). Order-independent and incremental: a child's sum is its parent's
 * plus the digests of the rows added, minus those of the rows removed.
 */
export function wordSumsToBigInt(words: readonly (string | number | bigint)[]): bigint {
  let total = 0n;
  words.forEach((word, i) => {
    total += BigInt(word) << BigInt(32 * (words.length - 1 - i));
  });
  return ((total % MODULUS) + MODULUS) % MODULUS;
}

export const sumToHex = (sum: bigint) => sum.toString(16).padStart(64, '0');

export function addSums(base: string | null, added: bigint, removed: bigint): string {
  const start = base ? BigInt(`0x${base}`) : 0n;
  return sumToHex((((start + added - removed) % MODULUS) + MODULUS) % MODULUS);
}

/** A version's id: SHA-256 over the canonical schema and the multiset hash of its rows (row key, cells, label, split). */
export function versionId(schema: DatasetSchema, rowSum: string): string {
  const header = JSON.stringify({
    features: schema.features,
    target: schema.target,
    task: schema.task,
    labels: schema.labels,
    columns: schema.columns ?? null,
  });
  return createHash('sha256').update(`sepal-dataset-v2\n${header}\n${rowSum}\n`).digest('hex');
}

/** The key of an imported row: its content (and occurrence among identical rows, added by the database). */
export function importedRowHash(
  dataset: string,
  task: string,
  featuresJson: string,
  label: string | number,
): string {
  return createHash('sha256')
    .update(`${dataset}|${task}|${featuresJson}|${String(label)}`)
    .digest('hex');
}
