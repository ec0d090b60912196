import type { KeyView } from '@sepal/contracts';
import type { KeysRepository, NewKey, StoredKey } from '../../src/keys/keys.repository';

interface Row extends StoredKey {
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedBy: string | null;
}

/** KeysRepository in memory, with the table's rule: a name is unique among the keys not revoked. */
export class FakeKeysRepository implements Pick<KeysRepository, keyof KeysRepository> {
  readonly rows: Row[] = [];
  useBatches = 0;

  async insert(key: NewKey): Promise<boolean> {
    if (this.rows.some((r) => r.name === key.name && !r.revokedAt)) return false;
    this.rows.push({
      ...key,
      revokedAt: null,
      createdAt: new Date().toISOString(),
      lastUsedAt: null,
      revokedBy: null,
    });
    return true;
  }

  async findActiveById(keyId: string) {
    return this.rows.find((r) => r.keyId === keyId && !r.revokedAt) ?? null;
  }

  async activeEnvKeys() {
    return this.rows.filter((r) => r.source === 'env' && !r.revokedAt);
  }

  async findRevokedById(keyId: string) {
    return this.rows.find((r) => r.keyId === keyId && r.revokedAt) ?? null;
  }

  async revokedEnvKeys(name: string, limit: number) {
    return this.rows
      .filter((r) => r.source === 'env' && r.name === name && r.revokedAt)
      .reverse()
      .slice(0, limit);
  }

  async findActiveByName(name: string) {
    return this.rows.find((r) => r.name === name && !r.revokedAt) ?? null;
  }

  async replaceSecret(keyId: string, salt: Buffer, hash: Buffer) {
    Object.assign(
      this.rows.find((r) => r.keyId === keyId)!,
      { salt, hash },
    );
  }

  async list(includeRevoked: boolean): Promise<KeyView[]> {
    return this.rows.filter((r) => includeRevoked || !r.revokedAt).map((r) => this.view(r));
  }

  async revoke(name: string, by: string) {
    const row = this.rows.find((r) => r.name === name && !r.revokedAt);
    if (!row) return null;
    Object.assign(row, { revokedAt: new Date().toISOString(), revokedBy: by });
    return this.view(row);
  }

  async recordUse(uses: Map<string, Date>) {
    this.useBatches += 1;
    for (const [id, at] of uses) {
      const row = this.rows.find((r) => r.keyId === id);
      if (row) row.lastUsedAt = at.toISOString();
    }
  }

  private view(r: Row): KeyView {
    return {
      name: r.name,
      scopes: r.scopes,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      lastUsedAt: r.lastUsedAt,
      revokedAt: r.revokedAt,
      revokedBy: r.revokedBy,
    };
  }
}
