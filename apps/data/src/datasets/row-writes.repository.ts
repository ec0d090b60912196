import { Injectable } from '@nestjs/common';
import { SplitName } from '@sepal/ml';
import { queryRows, Transaction } from '@sepal/persistence';
import { StrataCounts } from './domain/version-stats';
import { ROW_DIGEST, STAGED_KEY, STAGED_LABEL, STRATUM, sumOf, WORD_SUMS, WordSumsRow } from './rows.sql';
import { StagingRepository } from './staging.repository';

const ANALYZE_AFTER_ROWS = 10_000;

/** Rows counted per stratum (an integer: class index or target bin) and split. */
interface StratumCountRow {
  stratum: number;
  split: SplitName;
  n: number;
}

/** The rows a statement wrote, per stratum and split: their count and their digests' word sums. */
type AddedGroupRow = StratumCountRow & WordSumsRow;

/**
 * Writing a version's rows from the stage. A row lives once in data.rows with the sequence numbers of the version
 * that added it and the one that removed it; a version writes only the rows it adds (and marks the rows it removes),
 * and reads are one indexed query whatever the depth of the chain.
 */
@Injectable()
export class RowWritesRepository {
  constructor(private readonly staging: StagingRepository) {}

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
      this.staging.query<{ stratum: number; rank: string }>(
        tx,
        `SELECT b.stratum, encode(b.rank, 'hex') AS rank
         FROM (SELECT stratum, rank, row_number() OVER (PARTITION BY stratum ORDER BY rank) AS r
               FROM (SELECT ${STRATUM(STAGED_LABEL)} AS stratum, rank FROM import_stage
                     WHERE $bound::text IS NULL OR rank < decode($bound::text, 'hex')) a) b
         JOIN unnest($strata::int[], $quotas::int[]) AS q(stratum, quota) ON q.stratum = b.stratum
         WHERE b.r = q.quota`,
        { ...label, strata, quotas, bound },
      );
    let found: { stratum: number; rank: string }[] = [];
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
    for (const f of found) thresholds[Number(f.stratum)] = f.rank;
    const groups = await this.staging.query<AddedGroupRow>(
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
    const rows = await queryRows<{ stratum: number; n: number }>(
      this.staging.manager(tx),
      `SELECT stratum, count(*)::int AS n FROM import_fresh GROUP BY stratum`,
    );
    return Object.fromEntries(rows.map((r) => [String(r.stratum), r.n]));
  }

  /** Strata counts of the parent's rows the new content keeps (same key), and the digest sum of those it drops. */
  async inheritedRows(
    tx: Transaction,
    dataset: string,
    stratum: { task: string; edges: number[] },
  ): Promise<{ strata: StrataCounts; removedSum: bigint; removed: number }> {
    const counts = await this.staging.query<StratumCountRow>(
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
      s[c.split] += c.n;
    }
    const [sums] = await queryRows<{ n: number } & WordSumsRow>(
      this.staging.manager(tx),
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
    await this.staging.query(
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
    const groups = await this.staging.query<AddedGroupRow>(
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
    groups: AddedGroupRow[],
  ): Promise<{ strata: StrataCounts; addedSum: bigint; added: number }> {
    const result: StrataCounts = {};
    let addedSum = 0n;
    let added = 0;
    for (const g of groups) {
      const s = (result[String(g.stratum)] ??= { train: 0, test: 0 });
      s[g.split] += g.n;
      added += g.n;
      addedSum += sumOf(g);
    }
    // Fresh statistics after a large write, or the planner may read pages by sorting the whole dataset each time.
    // (The columns queries filter and join on: statistics of the cells and digests would only cost time.)
    if (added >= ANALYZE_AFTER_ROWS) {
      await this.staging
        .manager(tx)
        .query(`ANALYZE data.rows (dataset, row_id, row_key, split, added_seq, removed_seq)`);
    }
    return { strata: result, addedSum, added };
  }

  /** Marks the parent's rows the new content drops (all of them, unless rows are inherited by key). */
  async markRemoved(tx: Transaction, dataset: string, seq: number, inherit: boolean): Promise<number> {
    const removed = await queryRows<{ n: number }>(
      this.staging.manager(tx),
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
}
