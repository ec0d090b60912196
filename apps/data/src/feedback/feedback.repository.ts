import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FeatureCell, FeedbackSampleView } from '@sepal/contracts';
import { managerOf, Transaction } from '@sepal/persistence';

/** A stored sample, as stored and as served. */
export type FeedbackRecord = FeedbackSampleView;

const toRecord = (r: Record<string, unknown>): FeedbackRecord => ({
  id: r.id as string,
  dataset: r.dataset as string,
  features: (typeof r.features === 'string' ? JSON.parse(r.features) : r.features) as FeatureCell[],
  label: Number(r.label),
  className: r.class_name as string,
  flags: r.flags as string[],
  source: (r.source as string | null) ?? null,
  submittedBy: r.submitted_by as string,
  clientId: (r.client_id as string | null) ?? null,
  receivedAt: new Date(r.received_at as string).toISOString(),
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
    const rows = await this.dataSource.query(
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
    const [existing] = await this.dataSource.query(
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
    const rows = await managerOf(tx, this.dataSource).query(
      `SELECT * FROM data.feedback WHERE dataset = $1 AND committed_version IS NULL ORDER BY received_at, id`,
      [dataset],
    );
    return rows.map(toRecord);
  }

  async countPending(dataset: string): Promise<number> {
    const [row] = await this.dataSource.query(
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
    const rows = await this.dataSource.query(
      `SELECT * FROM data.feedback WHERE dataset = $1 ${condition} ORDER BY received_at DESC LIMIT $2`,
      [dataset, limit],
    );
    return rows.map(toRecord);
  }
}
