import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';
import { AliasAuditEntry, EventNames, EventPayloadInput } from '@sepal/contracts';
import { enqueueEvent } from '@sepal/messaging';
import { iso } from '../paging';
import { REGISTRY_SCHEMA } from '../registry.schema';

export interface ModelRecord {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  createdAt: string;
}

export interface VersionRecord {
  name: string;
  version: number;
  runId: string | null;
  sha256: string;
  size: number | null;
  signature: Record<string, unknown> | null;
  metrics: Record<string, number>;
  description: string | null;
  createdAt: string;
  /** The key that registered it over REST; null when it came from model.registered. */
  registeredBy: string | null;
}

/** One alias move, as the audit log records it. */
export interface NewAuditEntry {
  name: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  by: string;
  reason: string;
}

/** A row of registry.models. */
interface ModelRow {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  created_at: Date;
}

/** A row of registry.model_versions (sha256 is char(64), blank-padded). */
interface ModelVersionRow {
  model_name: string;
  version: number;
  run_id: string | null;
  sha256: string;
  size: Int8 | null;
  signature: Record<string, unknown> | null;
  metrics: Record<string, number>;
  description: string | null;
  created_at: Date;
  registered_by: string | null;
}

/** A row of registry.alias_audit. */
interface AliasAuditRow {
  id: Int8;
  model_name: string;
  alias: string;
  from_version: number | null;
  to_version: number;
  actor: string;
  reason: string;
  at: Date;
}

const toModel = (r: ModelRow): ModelRecord => ({
  name: r.name,
  description: r.description ?? null,
  tags: r.tags,
  createdAt: iso(r.created_at),
});

const toVersion = (r: ModelVersionRow): VersionRecord => ({
  name: r.model_name,
  version: Number(r.version),
  runId: r.run_id ?? null,
  sha256: String(r.sha256).trim(),
  size: r.size === null || r.size === undefined ? null : Number(r.size),
  signature: r.signature ?? null,
  metrics: r.metrics,
  description: r.description ?? null,
  createdAt: iso(r.created_at),
  registeredBy: r.registered_by ?? null,
});

const toAudit = (r: AliasAuditRow): AliasAuditEntry => ({
  id: Number(r.id),
  model: r.model_name,
  alias: r.alias,
  fromVersion: r.from_version === null ? null : Number(r.from_version),
  toVersion: Number(r.to_version),
  by: r.actor,
  reason: r.reason,
  at: iso(r.at),
});

/** Every SQL statement about registered models, their versions, aliases and the alias audit log. */
@Injectable()
export class ModelsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(tx?: Transaction): EntityManager {
    return managerOf(tx, this.dataSource);
  }

  /** Inserts a model; null if the name is taken. */
  async insertModel(
    tx: Transaction,
    model: { name: string; description: string | null; tags: Record<string, string> },
  ): Promise<ModelRecord | null> {
    const rows = await queryRows<ModelRow>(
      this.manager(tx),
      `INSERT INTO registry.models (name, description, tags) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [model.name, model.description, JSON.stringify(model.tags)],
    );
    return rows.length ? toModel(rows[0]) : null;
  }

  /**
   * Locks the model's row for the rest of the transaction: version numbering and every alias move of one model are
   * serialised by it, so concurrent promotions queue instead of losing one another.
   */
  async lockModel(tx: Transaction, name: string): Promise<ModelRecord | null> {
    const rows = await queryRows<ModelRow>(
      this.manager(tx),
      `SELECT * FROM registry.models WHERE name = $1 FOR UPDATE`,
      [name],
    );
    return rows.length ? toModel(rows[0]) : null;
  }

  async findModel(name: string): Promise<ModelRecord | null> {
    const rows = await queryRows<ModelRow>(this.dataSource, `SELECT * FROM registry.models WHERE name = $1`, [
      name,
    ]);
    return rows.length ? toModel(rows[0]) : null;
  }

  async listModels(
    offset: number,
    limit: number,
  ): Promise<(ModelRecord & { latestVersion: number | null })[]> {
    const rows = await queryRows<ModelRow & { latest_version: number | null }>(
      this.dataSource,
      `SELECT m.*, (SELECT max(v.version) FROM registry.model_versions v WHERE v.model_name = m.name) AS latest_version
       FROM registry.models m ORDER BY m.name OFFSET $1 LIMIT $2`,
      [offset, limit],
    );
    return rows.map((r) => ({
      ...toModel(r),
      latestVersion: r.latest_version === null ? null : Number(r.latest_version),
    }));
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const rows = await queryRows<ModelVersionRow>(
      this.dataSource,
      `SELECT * FROM registry.model_versions WHERE model_name = $1 ORDER BY version`,
      [name],
    );
    return rows.map(toVersion);
  }

  async findVersion(name: string, version: number, tx?: Transaction): Promise<VersionRecord | null> {
    const rows = await queryRows<ModelVersionRow>(
      this.manager(tx),
      `SELECT * FROM registry.model_versions WHERE model_name = $1 AND version = $2`,
      [name, version],
    );
    return rows.length ? toVersion(rows[0]) : null;
  }

  async nextVersion(tx: Transaction, name: string): Promise<number> {
    const [row] = await queryRows<{ next: number }>(
      this.manager(tx),
      `SELECT coalesce(max(version), 0) + 1 AS next FROM registry.model_versions WHERE model_name = $1`,
      [name],
    );
    return Number(row.next);
  }

  async insertVersion(tx: Transaction, version: Omit<VersionRecord, 'createdAt'>): Promise<VersionRecord> {
    const [row] = await queryRows<ModelVersionRow>(
      this.manager(tx),
      `INSERT INTO registry.model_versions
         (model_name, version, run_id, sha256, size, signature, metrics, description, registered_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        version.name,
        version.version,
        version.runId,
        version.sha256,
        version.size,
        version.signature ? JSON.stringify(version.signature) : null,
        JSON.stringify(version.metrics),
        version.description,
        version.registeredBy,
      ],
    );
    return toVersion(row);
  }

  async aliases(name: string, tx?: Transaction): Promise<Record<string, number>> {
    const rows = await queryRows<{ alias: string; version: number }>(
      this.manager(tx),
      `SELECT alias, version FROM registry.aliases WHERE model_name = $1 ORDER BY alias`,
      [name],
    );
    // No prototype: an alias is any name a user picks, and `constructor` or `__proto__` must not read Object's members.
    const aliases = Object.create(null) as Record<string, number>;
    for (const r of rows) aliases[r.alias] = Number(r.version);
    return aliases;
  }

  async setAlias(tx: Transaction, name: string, alias: string, version: number): Promise<void> {
    await this.manager(tx).query(
      `INSERT INTO registry.aliases (model_name, alias, version) VALUES ($1, $2, $3)
       ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [name, alias, version],
    );
  }

  async insertAudit(tx: Transaction, entry: NewAuditEntry): Promise<AliasAuditEntry> {
    const [row] = await queryRows<AliasAuditRow>(
      this.manager(tx),
      `INSERT INTO registry.alias_audit (model_name, alias, from_version, to_version, actor, reason)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [entry.name, entry.alias, entry.fromVersion, entry.toVersion, entry.by, entry.reason],
    );
    return toAudit(row);
  }

  async audit(name: string, alias?: string): Promise<AliasAuditEntry[]> {
    const rows = await queryRows<AliasAuditRow>(
      this.dataSource,
      `SELECT * FROM registry.alias_audit WHERE model_name = $1 AND ($2::text IS NULL OR alias = $2) ORDER BY id`,
      [name, alias ?? null],
    );
    return rows.map(toAudit);
  }

  /** Writes model.promoted to the outbox in the alias move's transaction: announced if and only if it commits. */
  async enqueuePromotion(
    tx: Transaction,
    promotion: EventPayloadInput<typeof EventNames.ModelPromoted>,
  ): Promise<void> {
    await enqueueEvent(this.manager(tx), REGISTRY_SCHEMA, EventNames.ModelPromoted, promotion);
  }
}
