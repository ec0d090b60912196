import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatasetVersioned, DatasetVersionView, EventNames } from '@sepal/contracts';
import { enqueueEvent } from '@sepal/messaging';
import { SplitName } from '@sepal/ml';
import { managerOf, Transaction } from '@sepal/persistence';
import { ClassCounts, DatasetSchema, VersionRow } from './domain/version-content';
import { AppliedCleaningRule } from './domain/cleaning';

export interface DatasetRecord {
  name: string;
  description: string;
  task: string;
  schema: DatasetSchema;
  createdAt: Date;
  versionCount: number;
  latestVersion: string | null;
}

/** A version as stored and as served: the data service's REST contract. */
export type VersionRecord = DatasetVersionView;

/** What the service computes for a new version; the repository numbers it and stamps its time. */
export type NewVersion = Omit<VersionRecord, 'createdAt' | 'seq'>;

export interface RowPage {
  features: number[][];
  labels: number[];
  keys: string[];
  splits: SplitName[];
  nextCursor: number | null;
}

const INSERT_BATCH = 1000;

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
});

/** Every SQL statement of the datasets feature; versions and their rows are written once and never updated. */
@Injectable()
export class DatasetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Creates the dataset row on first use, then locks it: concurrent writers of one dataset take turns. */
  async ensureDatasetLocked(
    tx: Transaction,
    dataset: { name: string; description: string; task: string; schema: DatasetSchema },
  ): Promise<void> {
    const manager = managerOf(tx, this.dataSource);
    await manager.query(
      `INSERT INTO data.datasets (name, description, task, schema) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING`,
      [dataset.name, dataset.description, dataset.task, JSON.stringify(dataset.schema)],
    );
    await manager.query(`SELECT name FROM data.datasets WHERE name = $1 FOR UPDATE`, [dataset.name]);
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT d.*, (SELECT count(*)::int FROM data.dataset_versions v WHERE v.dataset = d.name) AS version_count,
              (SELECT v.id FROM data.dataset_versions v WHERE v.dataset = d.name ORDER BY v.seq DESC LIMIT 1) AS latest
       FROM data.datasets d ORDER BY d.name`,
    );
    return rows.map((r) => ({
      name: r.name as string,
      description: r.description as string,
      task: r.task as string,
      schema: r.schema as DatasetSchema,
      createdAt: new Date(r.created_at as string),
      versionCount: r.version_count as number,
      latestVersion: r.latest ? String(r.latest).trim() : null,
    }));
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    const rows = await this.dataSource.query(
      `SELECT * FROM data.dataset_versions WHERE dataset = $1 ORDER BY seq`,
      [dataset],
    );
    return rows.map(toVersion);
  }

  async latestVersion(dataset: string, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await managerOf(tx, this.dataSource).query(
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
    const rows = await managerOf(tx, this.dataSource).query(
      `SELECT * FROM data.dataset_versions WHERE id = $1`,
      [id],
    );
    return rows.length ? toVersion(rows[0]) : null;
  }

  /** Writes a version and its rows, numbered next in its dataset; run it inside the dataset's lock. */
  async insertVersion(tx: Transaction, version: NewVersion, rows: VersionRow[]): Promise<VersionRecord> {
    const manager = managerOf(tx, this.dataSource);
    const [{ seq }] = await manager.query(
      `SELECT coalesce(max(seq), 0) + 1 AS seq FROM data.dataset_versions WHERE dataset = $1`,
      [version.dataset],
    );
    const [inserted] = await manager.query(
      `INSERT INTO data.dataset_versions
         (id, dataset, seq, parent_id, reason, schema, row_count, train_rows, test_rows, class_counts, cleaning_rules,
          split_policy, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
      [
        version.id,
        version.dataset,
        seq,
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
      ],
    );
    for (let start = 0; start < rows.length; start += INSERT_BATCH) {
      const batch = rows.slice(start, start + INSERT_BATCH);
      const params: unknown[] = [];
      const values = batch.map((row, i) => {
        params.push(version.id, start + i, row.key, row.features, row.label, row.split, row.origin);
        const p = i * 7;
        return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}::double precision[], $${p + 5}, $${p + 6}, $${p + 7})`;
      });
      await manager.query(
        `INSERT INTO data.dataset_rows (version_id, ordinal, row_key, features, label, split, origin) VALUES ${values.join(',')}`,
        params,
      );
    }
    return toVersion(inserted);
  }

  /** Queues dataset.versioned in the outbox, in the transaction that wrote the version. */
  async announceVersion(tx: Transaction, event: DatasetVersioned, correlationId?: string): Promise<void> {
    await enqueueEvent(managerOf(tx, this.dataSource), 'data', EventNames.DatasetVersioned, event, {
      correlationId,
    });
  }

  async allRows(versionId: string, tx?: Transaction): Promise<VersionRow[]> {
    const rows: Record<string, unknown>[] = await managerOf(tx, this.dataSource).query(
      `SELECT row_key, features, label, split, origin FROM data.dataset_rows WHERE version_id = $1 ORDER BY ordinal`,
      [versionId],
    );
    return rows.map((r) => ({
      key: r.row_key as string,
      features: (r.features as (number | string)[]).map(Number),
      label: r.label as number,
      split: r.split as SplitName,
      origin: r.origin as string,
    }));
  }

  /** Keyset pagination by ordinal, so a 100,000-row split is read in bounded pages. */
  async rowPage(
    versionId: string,
    split: SplitName | undefined,
    after: number,
    limit: number,
  ): Promise<RowPage> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ordinal, row_key, features, label, split FROM data.dataset_rows
       WHERE version_id = $1 AND ordinal > $2 AND ($3::text IS NULL OR split = $3)
       ORDER BY ordinal LIMIT $4`,
      [versionId, after, split ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      features: page.map((r) => (r.features as (number | string)[]).map(Number)),
      labels: page.map((r) => r.label as number),
      keys: page.map((r) => r.row_key as string),
      splits: page.map((r) => r.split as SplitName),
      nextCursor: rows.length > limit ? (page[page.length - 1].ordinal as number) : null,
    };
  }

  /** Min and max of every feature over the train split (used to flag out-of-range feedback). */
  async trainRanges(versionId: string, featureCount: number): Promise<{ min: number; max: number }[]> {
    const columns = Array.from(
      { length: featureCount },
      (_, i) => `min(features[${i + 1}]) AS min${i}, max(features[${i + 1}]) AS max${i}`,
    ).join(', ');
    const [row] = await this.dataSource.query(
      `SELECT ${columns} FROM data.dataset_rows WHERE version_id = $1 AND split = 'train'`,
      [versionId],
    );
    return Array.from({ length: featureCount }, (_, i) => ({
      min: Number(row[`min${i}`]),
      max: Number(row[`max${i}`]),
    }));
  }
}
