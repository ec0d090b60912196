import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DatasetSchema, DatasetVersionView, FeatureCell } from '@sepal/contracts';
import { managerOf, Transaction } from '@sepal/persistence';

/** A model's frozen evaluation set as stored. */
export interface EvaluationSetRecord {
  model: string;
  dataset: string;
  baseVersion: string;
  /** The schema its rows were read under (a later import with another base schema refreezes it). */
  schema: DatasetSchema;
  /** The sequence number of the latest dataset version it has looked at. */
  seenSeq: number;
  frozenBy: string;
  frozenAt: string;
}

/** A dataset version as the catch-up reads it. */
export type VersionStep = Pick<DatasetVersionView, 'id' | 'seq' | 'reason' | 'schema'>;

/** Rows a frozen set takes from a version: its live test rows (a freeze) or the test rows it added (an import). */
export type TakenRows = 'live' | 'added';

/** Feedback rows never enter an evaluation set, whatever split an older version gave them. */
const NOT_FEEDBACK = `r.origin NOT LIKE 'feedback:%'`;

const toSet = (r: Record<string, unknown>): EvaluationSetRecord => ({
  model: r.model as string,
  dataset: r.dataset as string,
  baseVersion: String(r.base_version).trim(),
  schema: r.schema as DatasetSchema,
  seenSeq: r.seen_seq as number,
  frozenBy: r.frozen_by as string,
  frozenAt: new Date(r.frozen_at as string).toISOString(),
});

/** Every SQL statement about the frozen evaluation sets (data.evaluation_sets, data.evaluation_rows). */
@Injectable()
export class EvaluationSetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private m(tx?: Transaction) {
    return managerOf(tx, this.dataSource);
  }

  /** Locks the dataset as an import does, so a set is frozen or extended between versions, never during one. */
  async lockDataset(tx: Transaction, dataset: string): Promise<boolean> {
    const rows = await this.m(tx).query(`SELECT name FROM data.datasets WHERE name = $1 FOR UPDATE`, [
      dataset,
    ]);
    return rows.length > 0;
  }

  async find(model: string, dataset: string, tx?: Transaction): Promise<EvaluationSetRecord | null> {
    const [row] = await this.m(tx).query(
      `SELECT * FROM data.evaluation_sets WHERE model = $1 AND dataset = $2`,
      [model, dataset],
    );
    return row ? toSet(row) : null;
  }

  async version(tx: Transaction, dataset: string, id: string): Promise<VersionStep | null> {
    const [row] = await this.m(tx).query(
      `SELECT id, seq, reason, schema FROM data.dataset_versions WHERE dataset = $1 AND id = $2`,
      [dataset, id],
    );
    return row ? toStep(row) : null;
  }

  /** The versions of `dataset` after sequence number `seq`, oldest first. */
  async versionsAfter(tx: Transaction, dataset: string, seq: number): Promise<VersionStep[]> {
    const rows: Record<string, unknown>[] = await this.m(tx).query(
      `SELECT id, seq, reason, schema FROM data.dataset_versions WHERE dataset = $1 AND seq > $2 ORDER BY seq`,
      [dataset, seq],
    );
    return rows.map(toStep);
  }

  /** The key that imported a version, from the audit log (null while its entry is not written yet). */
  async importer(tx: Transaction, versionId: string): Promise<string | null> {
    const [row] = await this.m(tx).query(
      `SELECT actor FROM data.audit_log WHERE version_id = $1 AND action = 'import' ORDER BY id LIMIT 1`,
      [versionId],
    );
    return (row?.actor as string | undefined) ?? null;
  }

  /** Writes a set's record, or moves it to a new base (its rows are dropped: a refreeze). */
  async save(tx: Transaction, set: Omit<EvaluationSetRecord, 'frozenAt'>): Promise<void> {
    await this.m(tx).query(`DELETE FROM data.evaluation_rows WHERE model = $1 AND dataset = $2`, [
      set.model,
      set.dataset,
    ]);
    await this.m(tx).query(
      `INSERT INTO data.evaluation_sets (model, dataset, base_version, schema, seen_seq, frozen_by)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6)
       ON CONFLICT (model, dataset) DO UPDATE SET base_version = $3, schema = $4::jsonb, seen_seq = $5,
         frozen_by = $6, frozen_at = now()`,
      [set.model, set.dataset, set.baseVersion, JSON.stringify(set.schema), set.seenSeq, set.frozenBy],
    );
  }

  async markSeen(
    tx: Transaction,
    set: EvaluationSetRecord,
    seq: number,
    schema: DatasetSchema,
  ): Promise<void> {
    await this.m(tx).query(
      `UPDATE data.evaluation_sets SET seen_seq = $3, schema = $4::jsonb WHERE model = $1 AND dataset = $2`,
      [set.model, set.dataset, seq, JSON.stringify(schema)],
    );
  }

  /** Adds a version's test rows (not feedback) to a set by row id; answers how many were new to it. */
  async takeTestRows(
    tx: Transaction,
    set: Pick<EvaluationSetRecord, 'model' | 'dataset'>,
    version: VersionStep,
    which: TakenRows,
  ): Promise<number> {
    const rows =
      which === 'live'
        ? `r.added_seq <= $4 AND (r.removed_seq IS NULL OR r.removed_seq > $4)`
        : `r.added_seq = $4`;
    const [row] = await this.m(tx).query(
      `WITH taken AS (
         INSERT INTO data.evaluation_rows (model, dataset, row_id, version_id)
         SELECT $1, $2, r.row_id, $3 FROM data.rows r
         WHERE r.dataset = $2 AND ${rows} AND r.split = 'test' AND ${NOT_FEEDBACK}
         ON CONFLICT DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS n FROM taken`,
      [set.model, set.dataset, version.id, version.seq],
    );
    return row.n as number;
  }

  async count(model: string, dataset: string, tx?: Transaction): Promise<number> {
    const [row] = await this.m(tx).query(
      `SELECT count(*)::int AS n FROM data.evaluation_rows WHERE model = $1 AND dataset = $2`,
      [model, dataset],
    );
    return row.n as number;
  }

  /** A page of a set's rows in row-id order, after `cursor` (a row id; -1 from the start). */
  async page(
    model: string,
    dataset: string,
    cursor: number,
    limit: number,
  ): Promise<{ features: FeatureCell[][]; labels: number[]; nextCursor: number | null }> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT e.row_id, r.features, r.label FROM data.evaluation_rows e
       JOIN data.rows r ON r.dataset = e.dataset AND r.row_id = e.row_id
       WHERE e.model = $1 AND e.dataset = $2 AND e.row_id > $3
       ORDER BY e.row_id LIMIT $4`,
      [model, dataset, cursor, limit + 1],
    );
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    return {
      features: kept.map(
        (r) => (typeof r.features === 'string' ? JSON.parse(r.features) : r.features) as FeatureCell[],
      ),
      labels: kept.map((r) => Number(r.label)),
      nextCursor: more ? Number(kept[kept.length - 1].row_id) : null,
    };
  }
}

const toStep = (r: Record<string, unknown>): VersionStep => ({
  id: String(r.id).trim(),
  seq: r.seq as number,
  reason: r.reason as VersionStep['reason'],
  schema: r.schema as DatasetSchema,
});
