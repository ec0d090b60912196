import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DataAuditEntry } from '@sepal/contracts';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';

/** A row of data.audit_log. */
interface AuditRow {
  id: Int8;
  dataset: string;
  action: DataAuditEntry['action'];
  version_id: string | null;
  created: boolean;
  actor: string;
  at: Date;
}

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
    const rows = await queryRows<AuditRow>(
      this.dataSource,
      `SELECT * FROM data.audit_log WHERE dataset = $1 ORDER BY id LIMIT $2`,
      [dataset, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      dataset: r.dataset,
      action: r.action,
      version: r.version_id ?? null,
      created: Boolean(r.created),
      actor: r.actor,
      at: new Date(r.at).toISOString(),
    }));
  }
}
