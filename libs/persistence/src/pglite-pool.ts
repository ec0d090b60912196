import { EventEmitter } from 'node:events';
import type { PGlite, Results } from '@electric-sql/pglite';
import { AsyncMutex } from './async-mutex';

/** One embedded database and the lock that gives one TypeORM query runner at a time its single session. */
export interface SharedPGlite {
  db: PGlite;
  session: AsyncMutex;
}

interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: Results['fields'];
}

function toPgResult(sql: string, result: Results | undefined): PgLikeResult {
  const rows = result?.rows ?? [];
  return {
    rows,
    rowCount: result?.affectedRows ?? rows.length,
    command: sql.trim().split(/\s+/, 1)[0]?.toUpperCase() ?? '',
    fields: result?.fields ?? [],
  };
}

async function runOn(db: PGlite, sql: string, params?: unknown[]): Promise<PgLikeResult> {
  if (params && params.length > 0) return toPgResult(sql, await db.query(sql, params));
  // Without parameters TypeORM may send several statements at once (migrations); exec handles those.
  const results = await db.exec(sql);
  return toPgResult(sql, results[results.length - 1]);
}

/** What TypeORM's Postgres driver holds while a query runner is connected: the session, exclusively. */
class PGliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  query(sql: string, params?: unknown[]): Promise<PgLikeResult> {
    return runOn(this.db, sql, params);
  }
}

/**
 * A node-postgres compatible pool over one PGlite instance. PGlite is a single connection, so interleaving
 * two TypeORM transactions on it would mix them; each `connect` therefore holds the session until released.
 */
export class PGliteSerialPool extends EventEmitter {
  private readonly shared: SharedPGlite;

  constructor(options: { pglite: SharedPGlite }) {
    super();
    this.shared = options.pglite;
  }

  connect(
    callback: (err: Error | null, client?: PGliteClient, release?: (err?: unknown) => void) => void,
  ): void {
    this.shared.session.acquire().then(
      (release) => {
        let released = false;
        callback(null, new PGliteClient(this.shared.db), () => {
          if (!released) {
            released = true;
            release();
          }
        });
      },
      (error: Error) => callback(error),
    );
  }

  async query(sql: string, params?: unknown[]): Promise<PgLikeResult> {
    const release = await this.shared.session.acquire();
    try {
      return await runOn(this.shared.db, sql, params);
    } finally {
      release();
    }
  }

  end(callback?: (err?: Error) => void): void {
    // The PGlite instance is shared by every data source of the process and closed by closeEmbeddedDatabases.
    callback?.();
  }
}

/** The `driver` object TypeORM's Postgres driver loads instead of `pg`. */
export const pgliteDriverModule = { Pool: PGliteSerialPool };
