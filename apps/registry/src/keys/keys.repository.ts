import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { KeyView, Scope } from '@sepal/contracts';
import { queryChanged, queryRows } from '@sepal/persistence';
import { iso } from '../paging';

export interface StoredKey {
  keyId: string;
  name: string;
  scopes: Scope[];
  source: 'api' | 'env' | 'cli';
  salt: Buffer;
  hash: Buffer;
  revokedAt: string | null;
}

export interface NewKey {
  keyId: string;
  name: string;
  scopes: Scope[];
  source: StoredKey['source'];
  salt: Buffer;
  hash: Buffer;
  createdBy: string | null;
}

/** A row of registry.api_keys (bytea: a Uint8Array, a Buffer from node-postgres). */
interface KeyRow {
  key_id: string;
  name: string;
  scopes: Scope[];
  source: StoredKey['source'];
  salt: Uint8Array;
  hash: Uint8Array;
  created_at: Date;
  created_by: string | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

/** The columns of a key's view (never its secret). */
type KeyViewRow = Pick<
  KeyRow,
  'name' | 'scopes' | 'created_at' | 'created_by' | 'last_used_at' | 'revoked_at' | 'revoked_by'
>;

const toStored = (r: KeyRow): StoredKey => ({
  keyId: r.key_id,
  name: r.name,
  scopes: r.scopes,
  source: r.source,
  salt: Buffer.from(r.salt),
  hash: Buffer.from(r.hash),
  revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
});

const toView = (r: KeyViewRow): KeyView => ({
  name: r.name,
  scopes: r.scopes,
  createdAt: iso(r.created_at),
  createdBy: r.created_by ?? null,
  lastUsedAt: r.last_used_at ? iso(r.last_used_at) : null,
  revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  revokedBy: r.revoked_by ?? null,
});

/** Every SQL statement about API keys. */
@Injectable()
export class KeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a key; false if an active key already has the name. */
  async insert(key: NewKey): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO registry.api_keys (key_id, name, scopes, source, salt, hash, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING key_id`,
      [key.keyId, key.name, key.scopes, key.source, key.salt, key.hash, key.createdBy],
    );
    return rows.length === 1;
  }

  async findActiveById(keyId: string): Promise<StoredKey | null> {
    const rows = await queryRows<KeyRow>(
      this.dataSource,
      `SELECT * FROM registry.api_keys WHERE key_id = $1 AND revoked_at IS NULL`,
      [keyId],
    );
    return rows.length ? toStored(rows[0]) : null;
  }

  /** The active keys from SEPAL_API_KEY (a secret of free form, checked against these few). */
  async activeEnvKeys(): Promise<StoredKey[]> {
    const rows = await queryRows<KeyRow>(
      this.dataSource,
      `SELECT * FROM registry.api_keys WHERE source = 'env' AND revoked_at IS NULL ORDER BY created_at`,
    );
    return rows.map(toStored);
  }

  /** The revoked key of this id, if it was revoked (a generated secret given as SEPAL_API_KEY). */
  async findRevokedById(keyId: string): Promise<StoredKey | null> {
    const rows = await queryRows<KeyRow>(
      this.dataSource,
      `SELECT * FROM registry.api_keys WHERE key_id = $1 AND revoked_at IS NOT NULL`,
      [keyId],
    );
    return rows.length ? toStored(rows[0]) : null;
  }

  /** The last revoked SEPAL_API_KEY keys of this name, newest first (at most `limit`: each is a scrypt to compare). */
  async revokedEnvKeys(name: string, limit: number): Promise<StoredKey[]> {
    const rows = await queryRows<KeyRow>(
      this.dataSource,
      `SELECT * FROM registry.api_keys WHERE source = 'env' AND name = $1 AND revoked_at IS NOT NULL
       ORDER BY revoked_at DESC LIMIT $2`,
      [name, limit],
    );
    return rows.map(toStored);
  }

  async findActiveByName(name: string): Promise<StoredKey | null> {
    const rows = await queryRows<KeyRow>(
      this.dataSource,
      `SELECT * FROM registry.api_keys WHERE name = $1 AND revoked_at IS NULL`,
      [name],
    );
    return rows.length ? toStored(rows[0]) : null;
  }

  async replaceSecret(keyId: string, salt: Buffer, hash: Buffer): Promise<void> {
    await this.dataSource.query(`UPDATE registry.api_keys SET salt = $2, hash = $3 WHERE key_id = $1`, [
      keyId,
      salt,
      hash,
    ]);
  }

  async list(includeRevoked: boolean): Promise<KeyView[]> {
    const rows = await queryRows<KeyViewRow>(
      this.dataSource,
      `SELECT name, scopes, created_at, created_by, last_used_at, revoked_at, revoked_by FROM registry.api_keys
       WHERE $1 OR revoked_at IS NULL ORDER BY name, created_at`,
      [includeRevoked],
    );
    return rows.map(toView);
  }

  /** Revokes the active key of this name; its view, or null if there is none. */
  async revoke(name: string, by: string): Promise<KeyView | null> {
    const { rows } = await queryChanged<KeyViewRow>(
      this.dataSource,
      `UPDATE registry.api_keys SET revoked_at = clock_timestamp(), revoked_by = $2
       WHERE name = $1 AND revoked_at IS NULL
       RETURNING name, scopes, created_at, created_by, last_used_at, revoked_at, revoked_by`,
      [name, by],
    );
    return rows.length ? toView(rows[0]) : null;
  }

  /** One statement for a batch of uses: key id → when it was last used. */
  async recordUse(uses: Map<string, Date>): Promise<void> {
    if (uses.size === 0) return;
    const ids = [...uses.keys()];
    const times = ids.map((id) => uses.get(id)!.toISOString());
    await this.dataSource.query(
      `UPDATE registry.api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at)
       FROM unnest($1::text[], $2::timestamptz[]) AS u(key_id, at) WHERE k.key_id = u.key_id`,
      [ids, times],
    );
  }
}
