import type { EntityManager } from 'typeorm';

/** What runs SQL: an EntityManager (a transaction's, or the data source's own) or the DataSource itself. */
export type Queryable = Pick<EntityManager, 'query'>;

/** A bigint column (bigserial, `count(*)`, a `sum` of integers): a string from node-postgres, a number from PGlite. */
export type Int8 = string | number | bigint;

/**
 * Runs a statement that answers rows (SELECT, INSERT ... RETURNING, `WITH ... SELECT`) and answers them as `Row`:
 * the one place that states what the driver returns, so repositories map typed rows instead of casting columns.
 * `Row` describes the columns as both drivers (node-postgres on PostgreSQL, PGlite embedded) answer them:
 * - text, uuid, char(n) (blank-padded: trim it): string; integer, real, double precision, `count(*)::int`: number;
 *   boolean: boolean; text[]: string[]; json and jsonb: the parsed value; bytea: a Uint8Array (node-postgres: a
 *   Buffer); timestamptz and date: a Date;
 * - bigint: Int8; numeric: a string. Read both with Number (or BigInt).
 * test/query-rows.test.ts checks these on both drivers.
 */
export function queryRows<Row extends object>(
  db: Queryable,
  sql: string,
  params?: unknown[],
): Promise<Row[]> {
  return db.query<Row[]>(sql, params);
}

/**
 * Runs an UPDATE or a DELETE (RETURNING or not): TypeORM answers those on PostgreSQL with `[rows, affected]`, not
 * with the rows alone. A statement that begins otherwise (`WITH gone AS (DELETE ...) SELECT ...`) answers rows: run
 * it with queryRows.
 */
export async function queryChanged<Row extends object = never>(
  db: Queryable,
  sql: string,
  params?: unknown[],
): Promise<{ rows: Row[]; affected: number }> {
  if (!/^\s*(UPDATE|DELETE)\b/i.test(sql)) throw new Error('queryChanged runs an UPDATE or a DELETE');
  const [rows, affected] = await db.query<[Row[], number | null]>(sql, params);
  return { rows, affected: Number(affected ?? 0) };
}
