import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DatasetSchema, DatasetVersionView, FeatureCell } from '@sepal/contracts';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';
import { cellsOf } from '../datasets/rows.sql';

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

/** A row of data.evaluation_sets (base_version is char(64), blank-padded). */
interface SetRow {
  model: string;
  dataset: string;
  base_version: string;
  schema: DatasetSchema;
  seen_seq: number;
  frozen_by: string;
  frozen_at: Date;
}

/** The columns of data.dataset_versions a catch-up reads (id is char(64), blank-padded). */
interface StepRow {
  id: string;
  seq: number;
  reason: VersionStep['reason'];
  schema: DatasetSchema;
}

const toSet = (r: SetRow): EvaluationSetRecord => ({
  model: r.model,
  dataset: r.dataset,
  baseVersion: String(r.base_version).trim(),
  schema: r.schema,
  seenSeq: r.seen_seq,
  frozenBy: r.frozen_by,
  frozenAt: new Date(r.frozen_at).toISOString(),
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
    const rows: unknown[] = await this.m(tx).query(
      `SELECT name FROM data.datasets WHERE name = $1 FOR UPDATE`,
      [dataset],
    );
    return rows.length > 0;
  }

  async find(model: string, dataset: string, tx?: Transaction): Promise<EvaluationSetRecord | null> {
    const [row] = await queryRows<SetRow>(
      this.m(tx),
      `SELECT * FROM data.evaluation_sets WHERE model = $1 AND dataset = $2`,
      [model, dataset],
    );
    return row ? toSet(row) : null;
  }

  async version(tx: Transaction, dataset: string, id: string): Promise<VersionStep | null> {
    const [row] = await queryRows<StepRow>(
      this.m(tx),
      `SELECT id, seq, reason, schema FROM data.dataset_versions WHERE dataset = $1 AND id = $2`,
      [dataset, id],
    );
    return row ? toStep(row) : null;
  }

  /** The versions of `dataset` after sequence number `seq`, oldest first. */
  async versionsAfter(tx: Transaction, dataset: string, seq: number): Promise<VersionStep[]> {
    const rows = await queryRows<StepRow>(
      this.m(tx),
      `SELECT id, seq, reason, schema FROM data.dataset_versions WHERE dataset = $1 AND seq > $2 ORDER BY seq`,
      [dataset, seq],
    );
    return rows.map(toStep);
  }

  /** The key that imported a version, from the audit log (null while its entry is not written yet). */
  async importer(tx: Transaction, versionId: string): Promise<string | null> {
    const [row] = await queryRows<{ actor: string }>(
      this.m(tx),
      `SELECT actor FROM data.audit_log WHERE version_id = $1 AND action = 'import' ORDER BY id LIMIT 1`,
      [versionId],
    );
    return row?.actor ?? null;
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
    const [row] = await queryRows<{ n: number }>(
      this.m(tx),
      `WITH taken AS (
         INSERT INTO data.evaluation_rows (model, dataset, row_id, version_id)
         SELECT $1, $2, r.row_id, $3 FROM data.rows r
         WHERE r.dataset = $2 AND ${rows} AND r.split = 'test' AND ${NOT_FEEDBACK}
         ON CONFLICT DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS n FROM taken`,
      [set.model, set.dataset, version.id, version.seq],
    );
    return row.n;
  }

  async count(model: string, dataset: string, tx?: Transaction): Promise<number> {
    const [row] = await queryRows<{ n: number }>(
      this.m(tx),
      `SELECT count(*)::int AS n FROM data.evaluation_rows WHERE model = $1 AND dataset = $2`,
      [model, dataset],
    );
    return row.n;
  }

  /** A page of a set's rows in row-id order, after `cursor` (a row id; -1 from the start). */
  async page(
    model: string,
    dataset: string,
    cursor: number,
    limit: number,
  ): Promise<{ features: FeatureCell[][]; labels: number[]; nextCursor: number | null }> {
    const rows = await queryRows<{ row_id: Int8; features: FeatureCell[] | string; label: number }>(
      this.dataSource,
      `SELECT e.row_id, r.features, r.label FROM data.evaluation_rows e
       JOIN data.rows r ON r.dataset = e.dataset AND r.row_id = e.row_id
       WHERE e.model = $1 AND e.dataset = $2 AND e.row_id > $3
       ORDER BY e.row_id LIMIT $4`,
      [model, dataset, cursor, limit + 1],
    );
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    return {
      features: kept.map((r) => cellsOf(r.features)),
      labels: kept.map((r) => Number(r.label)),
      nextCursor: more ? Number(kept[kept.length - 1].row_id) : null,
    };
  }
}

const toStep = (r: StepRow): VersionStep => ({
  id: String(r.id).trim(),
  seq: r.seq,
  reason: r.reason,
  schema: r.schema,
});
