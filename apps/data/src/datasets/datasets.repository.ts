import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  ClassCounts,
  DatasetSchema,
  DatasetVersioned,
  DatasetVersionView,
  EventNames,
  FeatureCell,
} from '@sepal/contracts';
import { enqueueEvent } from '@sepal/messaging';
import { SplitName } from '@sepal/ml';
import { copyClientOf, copyIn, copyText, managerOf, Transaction } from '@sepal/persistence';
import { AppliedCleaningRule } from './domain/cleaning';
import { wordSumsToBigInt } from './domain/content-hash';
import { StrataCounts, VersionStats } from './domain/version-stats';

export interface DatasetRecord {
  name: string;
  description: string;
  task: string;
  schema: DatasetSchema;
  createdAt: Date;
  versionCount: number;
  latestVersion: string | null;
}

/** A version as stored: the REST view plus what makes its child cheap (row-digest sum, stats). */
export interface VersionRecord extends DatasetVersionView {
  contentSum: string | null;
  stats: VersionStats | null;
}

/** What the service computes for a new version; the repository stamps its time. */
export type NewVersion = Omit<VersionRecord, 'createdAt'>;

export interface RowPage {
  features: FeatureCell[][];
  labels: number[];
  keys: string[];
  splits: SplitName[];
  nextCursor: number | null;
}

export interface StoredRow {
  key: string;
  features: FeatureCell[];
  label: number;
  split: SplitName;
  origin: string;
}

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

const toVersion = (r: Record<string, unknown>): VersionRecord => ({
  id: String(r.id).trim(),
  dataset: r.dataset as string,
  seq: r.seq as number,
  parentId: r.parent_id ? String(r.parent_id).trim() : null,
  reason: r.reason as VersionRecord['reason'],
  schema: r.schema as DatasetSchema,
  rowCount: r.row_count as number,
  trainRows: r.train_rows as number,
  testRows: r.test_rows as number,
  classCounts: r.class_counts as ClassCounts,
  cleaningRules: r.cleaning_rules as AppliedCleaningRule[],
  splitPolicy: r.split_policy as VersionRecord['splitPolicy'],
  source: r.source as Record<string, unknown>,
  createdAt: new Date(r.created_at as string).toISOString(),
  contentSum: r.content_sum ? String(r.content_sum).trim() : null,
  stats: (r.stats as VersionStats | null) ?? null,
});

/** A version's rows: added at or before its sequence number and not removed at or before it. */
const LIVE_AT = (ds: string, seq: string) =>
  `dataset = ${ds} AND added_seq <= ${seq} AND (removed_seq IS NULL OR removed_seq > ${seq})`;

/** The canonical digest of a row, computed by the database so every writer agrees on it. */
const ROW_DIGEST = (p = '') =>
  `sha256(convert_to(${p}row_key || E'\\t' || ${p}features::text || E'\\t' || ${p}label::text || E'\\t' || ${p}split, 'UTF8'))`;

/** The sums of the digests' eight big-endian 32-bit words (read byte by byte: no text conversion per row). */
const WORD_SUMS = [0, 1, 2, 3, 4, 5, 6, 7]
  .map((w) => {
    const byte = (i: number) => `get_byte(digest, ${w * 4 + i})::bigint`;
    return `coalesce(sum((${byte(0)} << 24) | (${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}), 0)::text AS w${w}`;
  })
  .join(', ');

const sumOf = (row: Record<string, unknown>) =>
  wordSumsToBigInt([0, 1, 2, 3, 4, 5, 6, 7].map((w) => String(row[`w${w}`])));

/** The stratum of a row: its class index, or the quantile bin of its regression target. */
const STRATUM = (label: string) =>
  `(CASE WHEN $task::text <> 'regression' THEN ${label}::int
         WHEN cardinality($edges::double precision[]) = 0 THEN 0
         ELSE width_bucket(${label}, $edges::double precision[]) END)`;

/** The key of a staged row: its content hash's first 16 bytes, and its occurrence among identical rows after the first. */
const STAGED_KEY = (h: string, n: string) =>
  `'import:' || encode(substring(${h} from 1 for 16), 'hex') || CASE WHEN ${n} > 0 THEN ':' || ${n} ELSE '' END`;

/** A staged row's label: the class index (classification) or the target value (regression). */
const STAGED_LABEL = `(CASE WHEN $task::text = 'regression' THEN target
                            ELSE (array_position($labels::text[], class) - 1)::float8 END)`;

/** Staged rows keyed by content hash and occurrence, labels encoded (class index or target value). */
const KEYED_STAGE = `SELECT ord, ${STAGED_KEY('h', 'n')} AS row_key, features,
         CASE WHEN $task::text = 'regression' THEN target
              ELSE (array_position($labels::text[], class) - 1)::float8 END AS label,
         origin
  FROM (SELECT s.ord, s.h, s.features, s.class, s.target, s.origin,
               row_number() OVER (PARTITION BY h ORDER BY ord) - 1 AS n
        FROM import_stage s) x`;

/** Binds named parameters ($task, $edges, ...) to positional ones. */
function bind(sql: string, params: Record<string, unknown>): [string, unknown[]] {
  const names = Object.keys(params);
  const text = sql.replace(/\$([a-z][a-zA-Z]*)/g, (_, name: string) => {
    const index = names.indexOf(name);
    if (index < 0) throw new Error(`unbound SQL parameter $${name}`);
    return `$${index + 1}`;
  });
  return [text, names.map((n) => params[n])];
}

const STAGE_BATCH_CHECK = 100_000;
const ANALYZE_AFTER_ROWS = 10_000;

/**
 * Every SQL statement of the datasets feature. A row lives once in data.rows with the sequence numbers of the
 * version that added it and the one that removed it; a version writes only the rows it adds (and marks the rows
 * it removes), and reads are one indexed query whatever the depth of the chain.
 */
@Injectable()
export class DatasetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Staging tables of open transactions: their unique suffix. */
  private readonly stages = new WeakMap<object, string>();

  /**
   * The manager of a transaction. Inside a transaction that staged rows, the staging tables' names in SQL
   * (import_stage, import_new, import_fresh) are that transaction's own unlogged tables in the data schema.
   */
  private m(tx?: Transaction): EntityManager {
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

  private q(tx: Transaction | undefined, sql: string, params: Record<string, unknown>) {
    const [text, values] = bind(sql, params);
    return this.m(tx).query(text, values);
  }

  /** Creates the dataset row on first use, then locks it: concurrent writers of one dataset take turns. */
  async ensureDatasetLocked(tx: Transaction, dataset: { name: string; description: string }): Promise<void> {
    await this.m(tx).query(
      `INSERT INTO data.datasets (name, description, task, schema) VALUES ($1, $2, '', '{}')
       ON CONFLICT (name) DO NOTHING`,
      [dataset.name, dataset.description],
    );
    await this.m(tx).query(`SELECT name FROM data.datasets WHERE name = $1 FOR UPDATE`, [dataset.name]);
  }

  async setDatasetSchema(tx: Transaction, name: string, schema: DatasetSchema): Promise<void> {
    await this.m(tx).query(`UPDATE data.datasets SET schema = $2, task = $3 WHERE name = $1`, [
      name,
      JSON.stringify(schema),
      schema.task,
    ]);
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT d.*, (SELECT count(*)::int FROM data.dataset_versions v WHERE v.dataset = d.name) AS version_count,
              (SELECT v.id FROM data.dataset_versions v WHERE v.dataset = d.name ORDER BY v.seq DESC LIMIT 1) AS latest
       FROM data.datasets d ORDER BY d.name`,
    );
    return rows
      .filter((r) => (r.version_count as number) > 0)
      .map((r) => ({
        name: r.name as string,
        description: r.description as string,
        task: r.task as string,
        schema: r.schema as DatasetSchema,
        createdAt: new Date(r.created_at as string),
        versionCount: r.version_count as number,
        latestVersion: r.latest ? String(r.latest).trim() : null,
      }));
  }

  async datasetExists(name: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM data.datasets WHERE name = $1`, [name]);
    return rows.length > 0;
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    const rows = await this.dataSource.query(
      `SELECT * FROM data.dataset_versions WHERE dataset = $1 ORDER BY seq`,
      [dataset],
    );
    return rows.map(toVersion);
  }

  async latestVersion(dataset: string, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await this.m(tx).query(
      `SELECT * FROM data.dataset_versions WHERE dataset = $1 ORDER BY seq DESC LIMIT 1`,
      [dataset],
    );
    return rows.length ? toVersion(rows[0]) : null;
  }

  /** Versions of a dataset whose id starts with `prefix`, or whose sequence number is `seq`. */
  async findVersions(dataset: string, ref: { prefix?: string; seq?: number }): Promise<VersionRecord[]> {
    const rows = ref.seq
      ? await this.dataSource.query(`SELECT * FROM data.dataset_versions WHERE dataset = $1 AND seq = $2`, [
          dataset,
          ref.seq,
        ])
      : await this.dataSource.query(
          `SELECT * FROM data.dataset_versions WHERE dataset = $1 AND id LIKE $2 ORDER BY seq LIMIT 2`,
          [dataset, `${ref.prefix}%`],
        );
    return rows.map(toVersion);
  }

  async versionById(id: string, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await this.m(tx).query(`SELECT * FROM data.dataset_versions WHERE id = $1`, [id]);
    return rows.length ? toVersion(rows[0]) : null;
  }

  async nextSeq(tx: Transaction, dataset: string): Promise<number> {
    const [{ seq }] = await this.m(tx).query(
      `SELECT coalesce(max(seq), 0) + 1 AS seq FROM data.dataset_versions WHERE dataset = $1`,
      [dataset],
    );
    return Number(seq);
  }

  // ---- staging: the new content, in temporary tables of the version's transaction ----

  /**
   * Staging tables of one write: unlogged tables of the data schema (the app's role owns it, and may not create
   * temporary tables), named for this transaction, created and dropped inside it, so a failed write leaves none.
   */
  async createStage(tx: Transaction): Promise<void> {
    this.stages.set(tx, randomBytes(8).toString('hex'));
    const m = this.m(tx);
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
    await this.m(tx).query(`DROP TABLE import_stage, import_new, import_fresh`);
    this.stages.delete(tx);
  }

  /**
   * Stages a batch of parsed rows: with COPY FROM STDIN on PostgreSQL (one round trip, no per-row SQL), or one
   * INSERT of a JSON parameter where COPY is not available (the embedded PGlite adapter).
   */
  async stageRows(tx: Transaction, rows: StagedRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length > STAGE_BATCH_CHECK) throw new Error('stage batches must stay small');
    const client = copyClientOf(managerOf(tx, this.dataSource));
    const suffix = this.stages.get(tx);
    if (client && suffix) {
      let text = '';
      for (const r of rows) {
        const label = typeof r.label === 'string' ? `${copyText(r.label)}\t\\N` : `\\N\t${r.label}`;
        text += `${r.ord}\t\\\\x${r.hash}\t\\\\x${r.rank}\t${copyText(r.featuresJson)}\t${label}\t${copyText(r.origin)}\n`;
      }
      await copyIn(
        client,
        `COPY data.import_stage_${suffix} (ord, h, rank, features, class, target, origin) FROM STDIN`,
        Buffer.from(text, 'utf8'),
      );
      return;
    }
    const json = `[${rows
      .map(
        (r) =>
          `[${r.ord},"${r.hash}","${r.rank}",${r.featuresJson},${typeof r.label === 'string' ? JSON.stringify(r.label) : 'null'},${typeof r.label === 'number' ? r.label : 'null'},${JSON.stringify(r.origin)}]`,
      )
      .join(',')}]`;
    await this.m(tx).query(
      `INSERT INTO import_stage (ord, h, rank, features, class, target, origin)
       SELECT (e->>0)::int, decode(e->>1, 'hex'), decode(e->>2, 'hex'), e->3, e->>4, (e->>5)::float8, e->>6
       FROM jsonb_array_elements($1::jsonb) e`,
      [json],
    );
  }

  /** Keys the staged rows (content hash + occurrence among identical rows) and encodes their labels. */
  async keyStagedRows(tx: Transaction, task: string, labels: string[]): Promise<void> {
    await this.q(tx, `INSERT INTO import_new (ord, row_key, features, label, origin) ${KEYED_STAGE}`, {
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
    const m = this.m(tx);
    // Most files repeat no row: one hashed count says so, and only files that do pay for numbering the repeats.
    const [repeated] = await m.query(
      `SELECT count(*)::int AS n FROM (SELECT h FROM import_stage GROUP BY h HAVING count(*) > 1) r`,
    );
    if (repeated.n > 0) {
      await this.q(
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
    const rows: Record<string, unknown>[] = await this.q(
      tx,
      `SELECT ${STRATUM(STAGED_LABEL)} AS stratum, count(*)::int AS n FROM import_stage GROUP BY 1`,
      { task: options.task, labels: options.labels, edges: options.edges },
    );
    return Object.fromEntries(rows.map((r) => [String(r.stratum), r.n as number]));
  }

  /**
   * Writes every staged row under sequence number `seq` (nothing inherited), in file order, in one pass: in each
   * stratum the first `quota` rows in hash-rank order go to test, found first as the rank of the quota-th row (ranks
   * are distinct: SHA-256 of distinct keys). Returns the split counts per stratum and the digest sum of the rows.
   */
  async insertStaged(
    tx: Transaction,
    options: {
      dataset: string;
      seq: number;
      quotas: Record<string, number>;
      /** Staged rows per stratum (what freshFromStage answered). */
      counts: Record<string, number>;
      task: string;
      labels: string[];
      edges: number[];
    },
  ): Promise<{ strata: StrataCounts; addedSum: bigint; added: number }> {
    const strata = Object.keys(options.quotas)
      .map(Number)
      .filter((s) => Number.isInteger(s) && s >= 0 && options.quotas[String(s)] > 0);
    const label = { task: options.task, labels: options.labels, edges: options.edges };
    const quotas = strata.map((s) => options.quotas[String(s)]);
    // The quota-th rank of each stratum. Ranks are uniform, so the test rows lie below about the test fraction of
    // the rank range: sorting only the ranks below a margin over it finds the same rows (a prefix of each stratum's
    // order) unless a stratum has too few there, and then every rank is sorted.
    const thresholdsBelow = (bound: string | null) =>
      this.q(
        tx,
        `SELECT b.stratum, encode(b.rank, 'hex') AS rank
         FROM (SELECT stratum, rank, row_number() OVER (PARTITION BY stratum ORDER BY rank) AS r
               FROM (SELECT ${STRATUM(STAGED_LABEL)} AS stratum, rank FROM import_stage
                     WHERE $bound::text IS NULL OR rank < decode($bound::text, 'hex')) a) b
         JOIN unnest($strata::int[], $quotas::int[]) AS q(stratum, quota) ON q.stratum = b.stratum
         WHERE b.r = q.quota`,
        { ...label, strata, quotas, bound },
      ) as Promise<Record<string, unknown>[]>;
    let found: Record<string, unknown>[] = [];
    if (strata.length) {
      const fraction = Math.max(
        ...strata.map((s, i) => quotas[i] / Math.max(1, options.counts[String(s)] ?? 0)),
      );
      const margin = Math.min(1, fraction * 1.25 + 0.02);
      const bound =
        margin < 1
          ? Math.floor(margin * 0xffffffff)
              .toString(16)
              .padStart(8, '0')
          : null;
      found = await thresholdsBelow(bound);
      if (bound && found.length < strata.length) found = await thresholdsBelow(null);
    }
    // The test threshold of stratum s at index s + 1 (null: no test rows in that stratum).
    const thresholds: (string | null)[] = Array.from(
      { length: Math.max(-1, ...found.map((f) => Number(f.stratum))) + 1 },
      () => null,
    );
    for (const f of found) thresholds[Number(f.stratum)] = f.rank as string;
    const groups: Record<string, unknown>[] = await this.q(
      tx,
      `WITH added AS (
         INSERT INTO data.rows (dataset, row_key, features, label, split, origin, digest, added_seq)
         SELECT $dataset, row_key, features, label, split, origin, ${ROW_DIGEST()}, $seq
         FROM (SELECT s.ord, ${STAGED_KEY('s.h', 's.n')} AS row_key, s.features, ${STAGED_LABEL} AS label, s.origin,
                      CASE WHEN s.rank <= (SELECT array_agg(decode(t, 'hex') ORDER BY i)
                                           FROM unnest($thresholds::text[]) WITH ORDINALITY AS u(t, i))
                                          [${STRATUM(STAGED_LABEL)} + 1]
                           THEN 'test' ELSE 'train' END AS split
               FROM import_stage s) x
         ORDER BY ord
         RETURNING label, split, digest)
       SELECT ${STRATUM('label')} AS stratum, split, count(*)::int AS n, ${WORD_SUMS} FROM added GROUP BY 1, 2`,
      { ...label, dataset: options.dataset, seq: options.seq, thresholds },
    );
    return this.added(tx, groups);
  }

  private async freshCounts(tx: Transaction): Promise<Record<string, number>> {
    const rows: Record<string, unknown>[] = await this.m(tx).query(
      `SELECT stratum, count(*)::int AS n FROM import_fresh GROUP BY stratum`,
    );
    return Object.fromEntries(rows.map((r) => [String(r.stratum), r.n as number]));
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
    await this.m(tx).query(
      `INSERT INTO import_new (ord, row_key, features, label, origin)
       SELECT (e->>0)::int, e->>1, e->2, (e->>3)::float8, e->>4 FROM jsonb_array_elements($1::jsonb) e`,
      [json],
    );
  }

  /** Quantile edges of the staged targets (regression import), deduplicated. */
  async quantileEdges(tx: Transaction, bins: number): Promise<number[]> {
    if (bins <= 1) return [];
    const fractions = Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);
    const [row] = await this.m(tx).query(
      `SELECT percentile_cont($1::float8[]) WITHIN GROUP (ORDER BY target) AS edges FROM import_stage`,
      [fractions],
    );
    const edges = ((row.edges as (number | string)[] | null) ?? []).map(Number);
    return [...new Set(edges)].sort((a, b) => a - b);
  }

  /** Strata counts of the parent's rows the new content keeps (same key), and the digest sum of those it drops. */
  async inheritedRows(
    tx: Transaction,
    dataset: string,
    stratum: { task: string; edges: number[] },
  ): Promise<{ strata: StrataCounts; removedSum: bigint; removed: number }> {
    const counts: Record<string, unknown>[] = await this.q(
      tx,
      `SELECT ${STRATUM('r.label')} AS stratum, r.split, count(*)::int AS n FROM data.rows r
       WHERE r.dataset = $dataset AND r.removed_seq IS NULL
         AND EXISTS (SELECT 1 FROM import_new n WHERE n.row_key = r.row_key)
       GROUP BY 1, 2`,
      { dataset, task: stratum.task, edges: stratum.edges },
    );
    const strata: StrataCounts = {};
    for (const c of counts) {
      const s = (strata[String(c.stratum)] ??= { train: 0, test: 0 });
      s[c.split as SplitName] += c.n as number;
    }
    const [sums] = await this.m(tx).query(
      `SELECT count(*)::int AS n, ${WORD_SUMS} FROM data.rows r
       WHERE r.dataset = $1 AND r.removed_seq IS NULL
         AND NOT EXISTS (SELECT 1 FROM import_new n WHERE n.row_key = r.row_key)`,
      [dataset],
    );
    return { strata, removedSum: sumOf(sums), removed: sums.n };
  }

  /** Moves the staged rows not in the parent (or all, when nothing is inherited) to import_fresh with their rank. */
  async selectFresh(
    tx: Transaction,
    options: { dataset: string; inherit: boolean; seed: number; task: string; edges: number[] },
  ): Promise<Record<string, number>> {
    await this.q(
      tx,
      `INSERT INTO import_fresh (ord, row_key, features, label, origin, stratum, rank)
       SELECT n.ord, n.row_key, n.features, n.label, n.origin, ${STRATUM('n.label')},
              sha256(convert_to($seed::text || ':' || n.row_key, 'UTF8'))
       FROM import_new n
       ${
         options.inherit
           ? `WHERE NOT EXISTS (SELECT 1 FROM data.rows r
                WHERE r.dataset = $dataset AND r.removed_seq IS NULL AND r.row_key = n.row_key)`
           : ''
       }`,
      {
        task: options.task,
        edges: options.edges,
        seed: String(options.seed),
        ...(options.inherit ? { dataset: options.dataset } : {}),
      },
    );
    return this.freshCounts(tx);
  }

  /**
   * Writes the fresh rows under sequence number `seq`, in file order, split in one pass: in each stratum the first
   * `quota` rows in hash-rank order go to test. Returns the split counts per stratum and the digest sum of the rows.
   */
  async insertFresh(
    tx: Transaction,
    options: { dataset: string; seq: number; quotas: Record<string, number>; task: string; edges: number[] },
  ): Promise<{ strata: StrataCounts; addedSum: bigint; added: number }> {
    const strata = Object.keys(options.quotas).map(Number);
    const groups: Record<string, unknown>[] = await this.q(
      tx,
      `WITH added AS (
         INSERT INTO data.rows (dataset, row_key, features, label, split, origin, digest, added_seq)
         SELECT $dataset, row_key, features, label, split, origin, ${ROW_DIGEST()}, $seq
         FROM (SELECT f.ord, f.row_key, f.features, f.label, f.origin,
                      CASE WHEN row_number() OVER (PARTITION BY f.stratum ORDER BY f.rank) <= coalesce(q.quota, 0)
                           THEN 'test' ELSE 'train' END AS split
               FROM import_fresh f
               LEFT JOIN unnest($strata::int[], $quotas::int[]) AS q(stratum, quota) ON q.stratum = f.stratum) x
         ORDER BY ord
         RETURNING label, split, digest)
       SELECT ${STRATUM('label')} AS stratum, split, count(*)::int AS n, ${WORD_SUMS} FROM added GROUP BY 1, 2`,
      {
        dataset: options.dataset,
        seq: options.seq,
        strata,
        quotas: strata.map((s) => options.quotas[String(s)]),
        task: options.task,
        edges: options.edges,
      },
    );
    return this.added(tx, groups);
  }

  /** Split counts per stratum and digest sum of the rows a version wrote; fresh statistics after a large write. */
  private async added(
    tx: Transaction,
    groups: Record<string, unknown>[],
  ): Promise<{ strata: StrataCounts; addedSum: bigint; added: number }> {
    const result: StrataCounts = {};
    let addedSum = 0n;
    let added = 0;
    for (const g of groups) {
      const s = (result[String(g.stratum)] ??= { train: 0, test: 0 });
      s[g.split as SplitName] += g.n as number;
      added += g.n as number;
      addedSum += sumOf(g);
    }
    // Fresh statistics after a large write, or the planner may read pages by sorting the whole dataset each time.
    // (The columns queries filter and join on: statistics of the cells and digests would only cost time.)
    if (added >= ANALYZE_AFTER_ROWS) {
      await this.m(tx).query(`ANALYZE data.rows (dataset, row_id, row_key, split, added_seq, removed_seq)`);
    }
    return { strata: result, addedSum, added };
  }

  /** Marks the parent's rows the new content drops (all of them, unless rows are inherited by key). */
  async markRemoved(tx: Transaction, dataset: string, seq: number, inherit: boolean): Promise<number> {
    const removed = await this.m(tx).query(
      `WITH gone AS (
         UPDATE data.rows r SET removed_seq = $2
         WHERE r.dataset = $1 AND r.removed_seq IS NULL AND r.added_seq < $2
           ${inherit ? 'AND NOT EXISTS (SELECT 1 FROM import_new n WHERE n.row_key = r.row_key)' : ''}
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [dataset, seq],
    );
    return removed[0].n;
  }

  /** Writes a version's record (its rows are written by insertFresh). */
  async insertVersion(tx: Transaction, version: NewVersion): Promise<VersionRecord> {
    const [inserted] = await this.m(tx).query(
      `INSERT INTO data.dataset_versions
         (id, dataset, seq, parent_id, reason, schema, row_count, train_rows, test_rows, class_counts, cleaning_rules,
          split_policy, source, content_sum, stats)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
      [
        version.id,
        version.dataset,
        version.seq,
        version.parentId,
        version.reason,
        JSON.stringify(version.schema),
        version.rowCount,
        version.trainRows,
        version.testRows,
        JSON.stringify(version.classCounts),
        JSON.stringify(version.cleaningRules),
        JSON.stringify(version.splitPolicy),
        JSON.stringify(version.source),
        version.contentSum,
        JSON.stringify(version.stats),
      ],
    );
    return toVersion(inserted);
  }

  /** Queues dataset.versioned in the outbox, in the transaction that wrote the version. */
  async announceVersion(tx: Transaction, event: DatasetVersioned, correlationId?: string): Promise<void> {
    await enqueueEvent(this.m(tx), 'data', EventNames.DatasetVersioned, event, { correlationId });
  }

  // ---- reading ----

  /** Keyset pagination by row id over the version's rows, so any split of any version is read in bounded pages. */
  async rowPage(
    version: { dataset: string; seq: number },
    split: SplitName | undefined,
    after: number,
    limit: number,
  ): Promise<RowPage> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT row_id, row_key, features, label, split FROM data.rows
       WHERE ${LIVE_AT('$1', '$2')} AND row_id > $3 AND ($4::text IS NULL OR split = $4)
       ORDER BY row_id LIMIT $5`,
      [version.dataset, version.seq, after, split ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      features: page.map((r) => parseCells(r.features)),
      labels: page.map((r) => Number(r.label)),
      keys: page.map((r) => r.row_key as string),
      splits: page.map((r) => r.split as SplitName),
      nextCursor: rows.length > limit ? Number(page[page.length - 1].row_id) : null,
    };
  }

  /** Rows in `to` and not in `from` (added), and the reverse (removed): counts and the first `limit` of each. */
  async diffRows(
    dataset: string,
    from: number,
    to: number,
    limit: number,
  ): Promise<{
    added: StoredRow[];
    removed: StoredRow[];
    addedCount: number;
    removedCount: number;
    moved: number;
  }> {
    const only = (p: string, a: string, b: string) =>
      `${p}dataset = $1 AND ${p}added_seq <= ${a} AND (${p}removed_seq IS NULL OR ${p}removed_seq > ${a})
       AND NOT (${p}added_seq <= ${b} AND (${p}removed_seq IS NULL OR ${p}removed_seq > ${b}))`;
    const pick = async (a: string, b: string) => {
      const rows: Record<string, unknown>[] = await this.dataSource.query(
        `SELECT row_key, features, label, split, origin FROM data.rows WHERE ${only('', a, b)}
         ORDER BY row_id LIMIT $4`,
        [dataset, from, to, limit],
      );
      const [count] = await this.dataSource.query(
        `SELECT count(*)::int AS n FROM data.rows WHERE ${only('', a, b)}`,
        [dataset, from, to],
      );
      return { rows: rows.map(toStoredRow), count: count.n as number };
    };
    const added = await pick('$3', '$2');
    const removed = await pick('$2', '$3');
    const [moved] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM data.rows a
       JOIN data.rows b ON b.dataset = a.dataset AND b.row_key = a.row_key AND b.split <> a.split
       WHERE ${only('a.', '$3', '$2')} AND ${only('b.', '$2', '$3')}`,
      [dataset, from, to],
    );
    return {
      added: added.rows,
      removed: removed.rows,
      addedCount: added.count,
      removedCount: removed.count,
      moved: moved.n,
    };
  }

  /** Strata counts and feature ranges of a version written before versions kept them (computed once, stored). */
  async computeStats(version: VersionRecord, tx?: Transaction): Promise<VersionStats> {
    const counts: Record<string, unknown>[] = await this.m(tx).query(
      `SELECT label::int AS stratum, split, count(*)::int AS n FROM data.rows WHERE ${LIVE_AT('$1', '$2')}
       GROUP BY 1, 2`,
      [version.dataset, version.seq],
    );
    const strata: StrataCounts = {};
    for (const c of counts) {
      const s = (strata[String(c.stratum)] ??= { train: 0, test: 0 });
      s[c.split as SplitName] += c.n as number;
    }
    const columns = version.schema.features
      .map((_, i) => `min((features->>${i})::float8) AS min${i}, max((features->>${i})::float8) AS max${i}`)
      .join(', ');
    const [row] = await this.m(tx).query(`SELECT ${columns} FROM data.rows WHERE ${LIVE_AT('$1', '$2')}`, [
      version.dataset,
      version.seq,
    ]);
    const ranges = version.schema.features.map((_, i) =>
      row[`min${i}`] === null ? null : { min: Number(row[`min${i}`]), max: Number(row[`max${i}`]) },
    );
    const stats: VersionStats = { strata, ranges };
    await this.m(tx).query(`UPDATE data.dataset_versions SET stats = $2 WHERE id = $1`, [
      version.id,
      JSON.stringify(stats),
    ]);
    return stats;
  }

  /** Rows of the data.rows table for a dataset (all versions): what the storage holds. */
  async storedRowCount(dataset: string): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS n FROM data.rows WHERE dataset = $1`, [
      dataset,
    ]);
    return row.n;
  }
}

function parseCells(value: unknown): FeatureCell[] {
  return (typeof value === 'string' ? JSON.parse(value) : value) as FeatureCell[];
}

function toStoredRow(r: Record<string, unknown>): StoredRow {
  return {
    key: r.row_key as string,
    features: parseCells(r.features),
    label: Number(r.label),
    split: r.split as SplitName,
    origin: r.origin as string,
  };
}
