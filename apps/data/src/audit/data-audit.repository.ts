import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DataAuditEntry } from '@sepal/contracts';
import { managerOf, Transaction } from '@sepal/persistence';

/** Every SQL statement about the data audit log. */
@Injectable()
export class DataAuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** In `tx` when given, so the entry and the change it records commit together. */
  async insert(entry: Omit<DataAuditEntry, 'id' | 'at'>, tx?: Transaction): Promise<void> {
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO data.audit_log (dataset, action, version_id, created, actor) VALUES ($1, $2, $3, $4, $5)`,
      [entry.dataset, entry.action, entry.version, entry.created, entry.actor],
    );
  }

  async list(dataset: string, limit: number): Promise<DataAuditEntry[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT * FROM data.audit_log WHERE dataset = $1 ORDER BY id LIMIT $2`,
      [dataset, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      dataset: r.dataset as string,
      action: r.action as DataAuditEntry['action'],
      version: (r.version_id as string | null) ?? null,
      created: Boolean(r.created),
      actor: r.actor as string,
      at: new Date(r.at as string).toISOString(),
    }));
  }
}
