import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FeatureCell, FeedbackSampleView } from '@sepal/contracts';
import { managerOf, queryRows, Transaction } from '@sepal/persistence';
import { cellsOf } from '../datasets/rows.sql';

/** A stored sample, as stored and as served. */
export type FeedbackRecord = FeedbackSampleView;

/** A row of data.feedback (committed_version is char(64), blank-padded). */
interface FeedbackRow {
  id: string;
  dataset: string;
  features: FeatureCell[] | string;
  label: number;
  class_name: string;
  flags: string[];
  source: string | null;
  submitted_by: string;
  client_id: string | null;
  received_at: Date;
  committed_version: string | null;
}

const toRecord = (r: FeedbackRow): FeedbackRecord => ({
  id: r.id,
  dataset: r.dataset,
  features: cellsOf(r.features),
  label: Number(r.label),
  className: r.class_name,
  flags: r.flags,
  source: r.source ?? null,
  submittedBy: r.submitted_by,
  clientId: r.client_id ?? null,
  receivedAt: new Date(r.received_at).toISOString(),
  committedVersion: r.committed_version ? String(r.committed_version).trim() : null,
});

@Injectable()
export class FeedbackRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores a sample at once under the server's id; a redelivered message (same message id) or a client id the same
   * key already sent for this dataset is stored once (the first answer is returned).
   */
  async insert(
    record: Omit<FeedbackRecord, 'receivedAt' | 'committedVersion'>,
    messageId?: string,
    /** The logged prediction the sample judges (an export of the log leaves that prediction out). */
    predictionId?: string,
  ): Promise<FeedbackRecord> {
    const rows = await queryRows<FeedbackRow>(
      this.dataSource,
      `INSERT INTO data.feedback
         (id, dataset, features, label, class_name, flags, source, message_id, submitted_by, client_id, prediction_id)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT DO NOTHING RETURNING *`,
      [
        record.id,
        record.dataset,
        JSON.stringify(record.features),
        record.label,
        record.className,
        JSON.stringify(record.flags),
        record.source,
        messageId ?? null,
        record.submittedBy,
        record.clientId,
        predictionId ?? null,
      ],
    );
    if (rows.length) return toRecord(rows[0]);
    const [existing] = await queryRows<FeedbackRow>(
      this.dataSource,
      `SELECT * FROM data.feedback
       WHERE ($1::text IS NOT NULL AND message_id = $1)
          OR ($2::text IS NOT NULL AND dataset = $3 AND submitted_by = $4 AND client_id = $2)
       LIMIT 1`,
      [messageId ?? null, record.clientId, record.dataset, record.submittedBy],
    );
    return toRecord(existing);
  }

  /** The samples not committed yet, oldest first; inside the commit's transaction (after the dataset lock). */
  async pending(tx: Transaction, dataset: string): Promise<FeedbackRecord[]> {
    const rows = await queryRows<FeedbackRow>(
      managerOf(tx, this.dataSource),
      `SELECT * FROM data.feedback WHERE dataset = $1 AND committed_version IS NULL ORDER BY received_at, id`,
      [dataset],
    );
    return rows.map(toRecord);
  }

  async countPending(dataset: string): Promise<number> {
    const [row] = await queryRows<{ n: number }>(
      this.dataSource,
      `SELECT count(*)::int AS n FROM data.feedback WHERE dataset = $1 AND committed_version IS NULL`,
      [dataset],
    );
    return row.n;
  }

  async markCommitted(tx: Transaction, ids: string[], versionId: string): Promise<void> {
    if (ids.length) {
      await managerOf(tx, this.dataSource).query(
        `UPDATE data.feedback SET committed_version = $1 WHERE id = ANY($2::uuid[])`,
        [versionId, ids],
      );
    }
  }

  async list(
    dataset: string,
    state: 'pending' | 'committed' | 'all',
    limit: number,
  ): Promise<FeedbackRecord[]> {
    const condition =
      state === 'pending'
        ? 'AND committed_version IS NULL'
        : state === 'committed'
          ? 'AND committed_version IS NOT NULL'
          : '';
    const rows = await queryRows<FeedbackRow>(
      this.dataSource,
      `SELECT * FROM data.feedback WHERE dataset = $1 ${condition} ORDER BY received_at DESC LIMIT $2`,
      [dataset, limit],
    );
    return rows.map(toRecord);
  }
}
