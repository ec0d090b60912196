/**
 * SQL fragments of the datasets feature's row storage, composed by its repositories: a version's live rows, the
 * canonical row digest and its word sums, the stratum of a row, and the key and label of a staged row; and the
 * readers of the columns they answer (word sums, cells).
 */
import type { FeatureCell } from '@sepal/contracts';
import { wordSumsToBigInt } from './domain/content-hash';

/** A version's rows: added at or before its sequence number and not removed at or before it. */
export const LIVE_AT = (ds: string, seq: string) =>
  `dataset = ${ds} AND added_seq <= ${seq} AND (removed_seq IS NULL OR removed_seq > ${seq})`;

/** The canonical digest of a row, computed by the database so every writer agrees on it. */
export const ROW_DIGEST = (p = '') =>
  `sha256(convert_to(${p}row_key || E'\\t' || ${p}features::text || E'\\t' || ${p}label::text || E'\\t' || ${p}split, 'UTF8'))`;

/** The sums of the digests' eight big-endian 32-bit words (read byte by byte: no text conversion per row). */
export const WORD_SUMS = [0, 1, 2, 3, 4, 5, 6, 7]
  .map((w) => {
    const byte = (i: number) => `get_byte(digest, ${w * 4 + i})::bigint`;
    return `coalesce(sum((${byte(0)} << 24) | (${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}), 0)::text AS w${w}`;
  })
  .join(', ');

/** The columns WORD_SUMS answers: each word's sum as decimal text. */
export interface WordSumsRow {
  w0: string;
  w1: string;
  w2: string;
  w3: string;
  w4: string;
  w5: string;
  w6: string;
  w7: string;
}

export const sumOf = (row: WordSumsRow) =>
  wordSumsToBigInt([row.w0, row.w1, row.w2, row.w3, row.w4, row.w5, row.w6, row.w7].map(String));

/** A row's cells as read from its jsonb column: the array, or (a jsonb string holding it) its JSON text. */
export function cellsOf(value: FeatureCell[] | string): FeatureCell[] {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** The stratum of a row: its class index, or the quantile bin of its regression target. */
export const STRATUM = (label: string) =>
  `(CASE WHEN $task::text <> 'regression' THEN ${label}::int
         WHEN cardinality($edges::double precision[]) = 0 THEN 0
         ELSE width_bucket(${label}, $edges::double precision[]) END)`;

/** The key of a staged row: its content hash's first 16 bytes, and its occurrence among identical rows after the first. */
export const STAGED_KEY = (h: string, n: string) =>
  `'import:' || encode(substring(${h} from 1 for 16), 'hex') || CASE WHEN ${n} > 0 THEN ':' || ${n} ELSE '' END`;

/** A staged row's label: the class index (classification) or the target value (regression). */
export const STAGED_LABEL = `(CASE WHEN $task::text = 'regression' THEN target
                            ELSE (array_position($labels::text[], class) - 1)::float8 END)`;

/** Staged rows keyed by content hash and occurrence, labels encoded (class index or target value). */
export const KEYED_STAGE = `SELECT ord, ${STAGED_KEY('h', 'n')} AS row_key, features,
         CASE WHEN $task::text = 'regression' THEN target
              ELSE (array_position($labels::text[], class) - 1)::float8 END AS label,
         origin
  FROM (SELECT s.ord, s.h, s.features, s.class, s.target, s.origin,
               row_number() OVER (PARTITION BY h ORDER BY ord) - 1 AS n
        FROM import_stage s) x`;
