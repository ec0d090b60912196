import { copyText } from '@sepal/persistence/copy-in';

/**
 * A row to stage: its content hash (hex), its split rank as a first occurrence (hex: SHA-256 of the seed and the
 * row key it has unless the file repeats it), cells as JSON, class name or number.
 */
export interface StagedRow {
  ord: number;
  hash: string;
  rank: string;
  featuresJson: string;
  label: string | number;
  origin: string;
}

/** A batch ready to stage: rows in COPY's text format (PostgreSQL), or a JSON array for one INSERT (PGlite). */
export type StageBatch =
  { kind: 'copy'; rows: number; data: Uint8Array } | { kind: 'json'; rows: number; json: string };

/** Rows as COPY FROM STDIN text: ord, h, rank, features, class, target, origin. */
export function copyBatchText(rows: readonly StagedRow[]): string {
  let text = '';
  for (const r of rows) text += copyRowText(r.ord, r.hash, r.rank, r.featuresJson, r.label, r.origin);
  return text;
}

/** One row as a line of COPY text (made as the row is read: no row object to build and collect). */
export function copyRowText(
  ord: number,
  hash: string,
  rank: string,
  featuresJson: string,
  label: string | number,
  origin: string,
): string {
  const labels = typeof label === 'string' ? `${copyText(label)}\t\\N` : `\\N\t${label}`;
  return `${ord}\t\\\\x${hash}\t\\\\x${rank}\t${copyText(featuresJson)}\t${labels}\t${copyText(origin)}\n`;
}

/** Rows as the JSON array the INSERT of the embedded adapter reads. */
export function jsonBatchText(rows: readonly StagedRow[]): string {
  return `[${rows
    .map(
      (r) =>
        `[${r.ord},"${r.hash}","${r.rank}",${r.featuresJson},${typeof r.label === 'string' ? JSON.stringify(r.label) : 'null'},${typeof r.label === 'number' ? r.label : 'null'},${JSON.stringify(r.origin)}]`,
    )
    .join(',')}]`;
}

/** A batch of rows in the format the storage takes. */
export function stageBatchOf(rows: readonly StagedRow[], copy: boolean): StageBatch {
  return copy
    ? { kind: 'copy', rows: rows.length, data: new TextEncoder().encode(copyBatchText(rows)) }
    : { kind: 'json', rows: rows.length, json: jsonBatchText(rows) };
}
