import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { copyClientOf, copyIn, managerOf, queryRows, SqlParams, Transaction } from '@sepal/persistence';
import { StageBatch, stageBatchOf, StagedRow } from './domain/staged-batch';
import { KEYED_STAGE, STAGED_KEY, STAGED_LABEL, STRATUM } from './rows.sql';

export type { StagedRow } from './domain/staged-batch';

const STAGE_BATCH_CHECK = 100_000;

/**
 * The staging of a version's new content, in unlogged tables of the version's transaction: rows staged (COPY or
 * JSON), keyed, counted per stratum. RowWritesRepository writes the version's rows from them.
 */
@Injectable()
export class StagingRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Staging tables of open transactions: their unique suffix. */
  private readonly stages = new WeakMap<object, string>();

  /**
   * The manager of a transaction. Inside a transaction that staged rows, the staging tables' names in SQL
   * (import_stage, import_new, import_fresh) are that transaction's own unlogged tables in the data schema.
   */
  manager(tx?: Transaction): EntityManager {
    const manager = managerOf(tx, this.dataSource);
    const suffix = tx ? this.stages.get(tx) : undefined;
    if (!suffix) return manager;
    return new Proxy(manager, {
      get: (target, property, receiver) =>
        property === 'query'
          ? (sql: string, params?: unknown[]) =>
              target.query(sql.replace(/\bimport_(stage|new|fresh)\b/g, `data.import_$1_${suffix}`), params)
          : Reflect.get(target, property, receiver),
    });
  }

  /** Runs `sql` with its named parameters ($task, ...) bound, in the transaction's manager; answers its rows. */
  query<Row extends object = never>(
    tx: Transaction | undefined,
    sql: string,
    named: Record<string, unknown>,
  ): Promise<Row[]> {
    const params = new SqlParams();
    const text = params.named(sql, named);
    return queryRows<Row>(this.manager(tx), text, params.values);
  }

  // ---- staging: the new content, in temporary tables of the version's transaction ----

  /**
   * Staging tables of one write: unlogged tables of the data schema (the app's role owns it, and may not create
   * temporary tables), named for this transaction, created and dropped inside it, so a failed write leaves none.
   */
  async createStage(tx: Transaction): Promise<void> {
    this.stages.set(tx, randomBytes(8).toString('hex'));
    const m = this.manager(tx);
    // The staged content is sorted (occurrences, hash ranks, file order): in memory, not in spill files.
    await m.query(`SET LOCAL work_mem = '256MB'`);
    // h: the row's content hash; rank: its split rank as a first occurrence; n: its occurrence (set for repeats).
    await m.query(`CREATE UNLOGGED TABLE import_stage (ord int, h bytea, rank bytea, features jsonb, class text,
      target float8, origin text, n int NOT NULL DEFAULT 0)`);
    await m.query(`CREATE UNLOGGED TABLE import_new (ord int, row_key text, features jsonb, label float8,
      origin text)`);
    await m.query(`CREATE UNLOGGED TABLE import_fresh (ord int, row_key text, features jsonb, label float8,
      origin text, stratum int, rank bytea)`);
  }

  /** Drops the staging tables once the version is written (a rolled-back write never created them). */
  async dropStage(tx: Transaction): Promise<void> {
    if (!this.stages.has(tx)) return;
    await this.manager(tx).query(`DROP TABLE import_stage, import_new, import_fresh`);
    this.stages.delete(tx);
  }

  /**
   * Stages a batch of parsed rows: with COPY FROM STDIN on PostgreSQL (one round trip, no per-row SQL), or one
   * INSERT of a JSON parameter where COPY is not available (the embedded PGlite adapter).
   */
  async stageRows(tx: Transaction, rows: StagedRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length > STAGE_BATCH_CHECK) throw new Error('stage batches must stay small');
    await this.stageBatch(tx, stageBatchOf(rows, this.canCopy(tx)));
  }

  /** Whether this transaction's stage takes COPY FROM STDIN (PostgreSQL) rather than a JSON INSERT (PGlite). */
  canCopy(tx: Transaction): boolean {
    return copyClientOf(managerOf(tx, this.dataSource)) !== null && this.stages.has(tx);
  }

  /** Stages a batch already in the storage's format (made off the event loop, by the import worker). */
  async stageBatch(tx: Transaction, batch: StageBatch): Promise<void> {
    if (batch.rows === 0) return;
    if (batch.rows > STAGE_BATCH_CHECK) throw new Error('stage batches must stay small');
    if (batch.kind === 'copy') {
      const client = copyClientOf(managerOf(tx, this.dataSource));
      const suffix = this.stages.get(tx);
      if (!client || !suffix) throw new Error('a COPY batch for a stage that cannot take COPY');
      await copyIn(
        client,
        `COPY data.import_stage_${suffix} (ord, h, rank, features, class, target, origin) FROM STDIN`,
        Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength),
      );
      return;
    }
    await this.manager(tx).query(
      `INSERT INTO import_stage (ord, h, rank, features, class, target, origin)
       SELECT (e->>0)::int, decode(e->>1, 'hex'), decode(e->>2, 'hex'), e->3, e->>4, (e->>5)::float8, e->>6
       FROM jsonb_array_elements($1::jsonb) e`,
      [batch.json],
    );
  }

  /** Keys the staged rows (content hash + occurrence among identical rows) and encodes their labels. */
  async keyStagedRows(tx: Transaction, task: string, labels: string[]): Promise<void> {
    await this.query(tx, `INSERT INTO import_new (ord, row_key, features, label, origin) ${KEYED_STAGE}`, {
      task,
      labels,
    });
  }

  /**
   * When nothing is inherited every staged row is fresh. Marks the repeats of a row (identical content after its
   * first occurrence) with their occurrence and ranks them by their own key (first occurrences were ranked while
   * parsing), indexes the stage in file order for the write, and returns the rows per stratum.
   */
  async freshFromStage(
    tx: Transaction,
    options: { task: string; labels: string[]; seed: number; edges: number[] },
  ): Promise<Record<string, number>> {
    const m = this.manager(tx);
    // Most files repeat no row: one hashed count says so, and only files that do pay for numbering the repeats.
    const [repeated] = await queryRows<{ n: number }>(
      m,
      `SELECT count(*)::int AS n FROM (SELECT h FROM import_stage GROUP BY h HAVING count(*) > 1) r`,
    );
    if (repeated.n > 0) {
      await this.query(
        tx,
        `UPDATE import_stage s SET n = d.n,
                rank = sha256(convert_to($seed::text || ':' || ${STAGED_KEY('s.h', 'd.n')}, 'UTF8'))
         FROM (SELECT ord, n FROM (SELECT ord, row_number() OVER (PARTITION BY h ORDER BY ord) - 1 AS n
                                   FROM import_stage) w
               WHERE n > 0) d
         WHERE s.ord = d.ord`,
        { seed: String(options.seed) },
      );
    }
    await m.query(`CREATE INDEX ON import_stage (ord)`);
    // Statistics of the stage's order column (its rows lie in file order) let the planner read it by that index,
    // without sorting every row.
    await m.query(`ANALYZE import_stage (ord)`);
    const rows = await this.query<{ stratum: number; n: number }>(
      tx,
      `SELECT ${STRATUM(STAGED_LABEL)} AS stratum, count(*)::int AS n FROM import_stage GROUP BY 1`,
      { task: options.task, labels: options.labels, edges: options.edges },
    );
    return Object.fromEntries(rows.map((r) => [String(r.stratum), r.n]));
  }

  /** Stages rows that already have their key and encoded label (feedback). */
  async stageKeyedRows(
    tx: Transaction,
    rows: { key: string; featuresJson: string; label: number; origin: string }[],
  ): Promise<void> {
    const json = `[${rows
      .map(
        (r, i) => `[${i},${JSON.stringify(r.key)},${r.featuresJson},${r.label},${JSON.stringify(r.origin)}]`,
      )
      .join(',')}]`;
    await this.manager(tx).query(
      `INSERT INTO import_new (ord, row_key, features, label, origin)
       SELECT (e->>0)::int, e->>1, e->2, (e->>3)::float8, e->>4 FROM jsonb_array_elements($1::jsonb) e`,
      [json],
    );
  }

  /** Quantile edges of the staged targets (regression import), deduplicated. */
  async quantileEdges(tx: Transaction, bins: number): Promise<number[]> {
    if (bins <= 1) return [];
    const fractions = Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);
    // double precision[]; null when nothing is staged.
    const [row] = await queryRows<{ edges: number[] | null }>(
      this.manager(tx),
      `SELECT percentile_cont($1::float8[]) WITHIN GROUP (ORDER BY target) AS edges FROM import_stage`,
      [fractions],
    );
    const edges = (row.edges ?? []).map(Number);
    return [...new Set(edges)].sort((a, b) => a - b);
  }
}
