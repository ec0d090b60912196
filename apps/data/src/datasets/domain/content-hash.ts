import { createHash, hash } from 'node:crypto';
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
    // Image datasets only (absent from tables' headers, so their ids are unchanged): the declared input shape.
    ...(schema.image
      ? {
          image: {
            height: schema.image.height,
            width: schema.image.width,
            channels: schema.image.channels,
            resize: schema.image.resize,
          },
        }
      : {}),
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
  // One-shot hash: per row of an import, a quarter of createHash's cost (no Hash object to build and collect).
  return hash('sha256', `${dataset}|${task}|${featuresJson}|${String(label)}`, 'hex');
}

/** The key of a row's first occurrence in an import (the database appends ':n' to the n-th repeat). */
export const importedRowKey = (hash: string): string => `import:${hash.slice(0, 32)}`;

/**
 * A row's rank for the split (hex): the SHA-256 of the seed and its key, the same the database computes as
 * sha256(seed || ':' || row_key); in each stratum the lowest ranks go to test.
 */
export function splitRank(seed: string, rowKey: string): string {
  return hash('sha256', `${seed}:${rowKey}`, 'hex');
}
