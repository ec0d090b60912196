import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  ClassCounts,
  DatasetSchema,
  DatasetVersioned,
  DatasetVersionView,
  EventNames,
} from '@sepal/contracts';
import { enqueueEvent } from '@sepal/messaging';
import { SplitName } from '@sepal/ml';
import { managerOf, queryRows, Transaction } from '@sepal/persistence';
import { AppliedCleaningRule } from './domain/cleaning';
import { StrataCounts, VersionStats } from './domain/version-stats';
import { LIVE_AT } from './rows.sql';

/** A version as stored: the REST view plus what makes its child cheap (row-digest sum, stats). */
export interface VersionRecord extends DatasetVersionView {
  contentSum: string | null;
  stats: VersionStats | null;
}

/** What the service computes for a new version; the repository stamps its time. */
export type NewVersion = Omit<VersionRecord, 'createdAt'>;

/** A row of data.dataset_versions (id, parent_id and content_sum are char(64), blank-padded). */
interface VersionRow {
  id: string;
  dataset: string;
  seq: number;
  parent_id: string | null;
  reason: VersionRecord['reason'];
  schema: DatasetSchema;
  row_count: number;
  train_rows: number;
  test_rows: number;
  class_counts: ClassCounts;
  cleaning_rules: AppliedCleaningRule[];
  split_policy: VersionRecord['splitPolicy'];
  source: Record<string, unknown>;
  created_at: Date;
  content_sum: string | null;
  stats: VersionStats | null;
}

const toVersion = (r: VersionRow): VersionRecord => ({
  id: String(r.id).trim(),
  dataset: r.dataset,
  seq: r.seq,
  parentId: r.parent_id ? String(r.parent_id).trim() : null,
  reason: r.reason,
  schema: r.schema,
  rowCount: r.row_count,
  trainRows: r.train_rows,
  testRows: r.test_rows,
  classCounts: r.class_counts,
  cleaningRules: r.cleaning_rules,
  splitPolicy: r.split_policy,
  source: r.source,
  createdAt: new Date(r.created_at).toISOString(),
  contentSum: r.content_sum ? String(r.content_sum).trim() : null,
  stats: r.stats ?? null,
});

/** The version records of a dataset: listed, resolved, numbered, written and announced, their statistics kept. */
@Injectable()
export class DatasetVersionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private m(tx?: Transaction) {
    return managerOf(tx, this.dataSource);
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    const rows = await queryRows<VersionRow>(
      this.dataSource,
      `SELECT * FROM data.dataset_versions WHERE dataset = $1 ORDER BY seq`,
      [dataset],
    );
    return rows.map(toVersion);
  }

  async latestVersion(dataset: string, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await queryRows<VersionRow>(
      this.m(tx),
      `SELECT * FROM data.dataset_versions WHERE dataset = $1 ORDER BY seq DESC LIMIT 1`,
      [dataset],
    );
    return rows.length ? toVersion(rows[0]) : null;
  }

  /** Versions of a dataset whose id starts with `prefix`, or whose sequence number is `seq`. */
  async findVersions(dataset: string, ref: { prefix?: string; seq?: number }): Promise<VersionRecord[]> {
    const rows = ref.seq
      ? await queryRows<VersionRow>(
          this.dataSource,
          `SELECT * FROM data.dataset_versions WHERE dataset = $1 AND seq = $2`,
          [dataset, ref.seq],
        )
      : await queryRows<VersionRow>(
          this.dataSource,
          `SELECT * FROM data.dataset_versions WHERE dataset = $1 AND id LIKE $2 ORDER BY seq LIMIT 2`,
          [dataset, `${ref.prefix}%`],
        );
    return rows.map(toVersion);
  }

  async versionById(id: string, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await queryRows<VersionRow>(
      this.m(tx),
      `SELECT * FROM data.dataset_versions WHERE id = $1`,
      [id],
    );
    return rows.length ? toVersion(rows[0]) : null;
  }

  async nextSeq(tx: Transaction, dataset: string): Promise<number> {
    const [{ seq }] = await queryRows<{ seq: number }>(
      this.m(tx),
      `SELECT coalesce(max(seq), 0) + 1 AS seq FROM data.dataset_versions WHERE dataset = $1`,
      [dataset],
    );
    return Number(seq);
  }
  /** Writes a version's record (its rows are written by insertFresh). */
  async insertVersion(tx: Transaction, version: NewVersion): Promise<VersionRecord> {
    const [inserted] = await queryRows<VersionRow>(
      this.m(tx),
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

  /** Strata counts and feature ranges of a version written before versions kept them (computed once, stored). */
  async computeStats(version: VersionRecord, tx?: Transaction): Promise<VersionStats> {
    const counts = await queryRows<{ stratum: number; split: SplitName; n: number }>(
      this.m(tx),
      `SELECT label::int AS stratum, split, count(*)::int AS n FROM data.rows WHERE ${LIVE_AT('$1', '$2')}
       GROUP BY 1, 2`,
      [version.dataset, version.seq],
    );
    const strata: StrataCounts = {};
    for (const c of counts) {
      const s = (strata[String(c.stratum)] ??= { train: 0, test: 0 });
      s[c.split] += c.n;
    }
    const columns = version.schema.features
      .map((_, i) => `min((features->>${i})::float8) AS min${i}, max((features->>${i})::float8) AS max${i}`)
      .join(', ');
    // min0, max0, min1, ...: double precision, null over no rows.
    const [row] = await queryRows<Record<string, number | null>>(
      this.m(tx),
      `SELECT ${columns} FROM data.rows WHERE ${LIVE_AT('$1', '$2')}`,
      [version.dataset, version.seq],
    );
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
}
