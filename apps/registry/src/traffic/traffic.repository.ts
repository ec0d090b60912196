import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EventNames, EventPayloadInput } from '@sepal/contracts';
import { enqueueEvent } from '@sepal/messaging';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';
import { iso } from '../paging';
import { REGISTRY_SCHEMA } from '../registry.schema';

/** A split as stored: weights by version, the shadow version, who changed it, when and why. */
export interface TrafficRecord {
  modelName: string;
  weights: { version: number; weight: number }[];
  shadowVersion: number | null;
  reason: string;
  changedBy: string;
  changedAt: string;
  /** Raised by every change of the model's split (null in audit entries older than revisions). */
  revision: number | null;
}

/** A row of registry.traffic_splits or registry.traffic_audit (whose revision is null before revisions). */
interface TrafficRow {
  model_name: string;
  weights: { version: number; weight: number }[];
  shadow_version: number | null;
  reason: string;
  changed_by: string;
  changed_at: Date;
  revision: Int8 | null;
}

const toRecord = (r: TrafficRow): TrafficRecord => ({
  modelName: r.model_name,
  weights: r.weights,
  shadowVersion: r.shadow_version === null ? null : Number(r.shadow_version),
  reason: r.reason,
  changedBy: r.changed_by,
  changedAt: iso(r.changed_at),
  revision: r.revision === null || r.revision === undefined ? null : Number(r.revision),
});

/** Every SQL statement about traffic splits and their audit log. */
@Injectable()
export class TrafficRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(tx?: Transaction): EntityManager {
    return managerOf(tx, this.dataSource);
  }

  /** Locks the model's row (the same lock alias moves take), false if the model is unknown. */
  async lockModel(tx: Transaction, name: string): Promise<boolean> {
    const rows: unknown[] = await this.manager(tx).query(
      `SELECT name FROM registry.models WHERE name = $1 FOR UPDATE`,
      [name],
    );
    return rows.length > 0;
  }

  async modelExists(name: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM registry.models WHERE name = $1`, [
      name,
    ]);
    return rows.length > 0;
  }

  /** The SHA-256 of each of the given versions that exists. */
  async versionDigests(name: string, versions: number[], tx?: Transaction): Promise<Map<number, string>> {
    if (versions.length === 0) return new Map();
    const rows = await queryRows<{ version: number; sha256: string }>(
      this.manager(tx),
      `SELECT version, sha256 FROM registry.model_versions WHERE model_name = $1 AND version = ANY($2::int[])`,
      [name, versions],
    );
    return new Map(rows.map((row) => [Number(row.version), String(row.sha256).trim()]));
  }

  /** Writes the split (replacing the previous one) and its audit entry; answers the stored split. */
  async save(tx: Transaction, split: Omit<TrafficRecord, 'changedAt' | 'revision'>): Promise<TrafficRecord> {
    const [row] = await queryRows<TrafficRow>(
      this.manager(tx),
      `INSERT INTO registry.traffic_splits (model_name, weights, shadow_version, reason, changed_by)
       VALUES ($1, $2::jsonb, $3, $4, $5)
       ON CONFLICT (model_name) DO UPDATE SET weights = EXCLUDED.weights, shadow_version = EXCLUDED.shadow_version,
         reason = EXCLUDED.reason, changed_by = EXCLUDED.changed_by, changed_at = clock_timestamp(),
         revision = registry.traffic_splits.revision + 1
       RETURNING *`,
      [split.modelName, JSON.stringify(split.weights), split.shadowVersion, split.reason, split.changedBy],
    );
    await this.manager(tx).query(
      `INSERT INTO registry.traffic_audit (model_name, weights, shadow_version, reason, changed_by, changed_at, revision)
       VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)`,
      [
        split.modelName,
        JSON.stringify(split.weights),
        split.shadowVersion,
        split.reason,
        split.changedBy,
        row.changed_at,
        row.revision,
      ],
    );
    return toRecord(row);
  }

  async find(name: string): Promise<TrafficRecord | null> {
    const rows = await queryRows<TrafficRow>(
      this.dataSource,
      `SELECT * FROM registry.traffic_splits WHERE model_name = $1`,
      [name],
    );
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** Every change of a model's split, oldest first. */
  async audit(name: string): Promise<TrafficRecord[]> {
    const rows = await queryRows<TrafficRow>(
      this.dataSource,
      `SELECT * FROM registry.traffic_audit WHERE model_name = $1 ORDER BY id`,
      [name],
    );
    return rows.map(toRecord);
  }

  /** model.traffic into the outbox, in the transaction that changed the split. */
  async enqueueTraffic(
    tx: Transaction,
    event: EventPayloadInput<typeof EventNames.ModelTraffic>,
  ): Promise<void> {
    await enqueueEvent(this.manager(tx), REGISTRY_SCHEMA, EventNames.ModelTraffic, event);
  }
}
