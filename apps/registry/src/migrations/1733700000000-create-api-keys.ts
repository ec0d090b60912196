import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys: identities with scopes. Only an scrypt hash (per-key salt) of each secret is kept; `key_id` is the public
 * part of a generated secret, so a check hashes once. A name is unique among the keys not revoked; revoked keys stay
 * for the record. `created_by` / `revoked_by` are key names (the audit of key changes).
 */
export class CreateApiKeys1733700000000 implements MigrationInterface {
  name = 'CreateApiKeys1733700000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.api_keys (
        key_id text PRIMARY KEY,
        name text NOT NULL,
        scopes text[] NOT NULL,
        source text NOT NULL CHECK (source IN ('api', 'env', 'cli')),
        salt bytea NOT NULL,
        hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        created_by text NULL,
        last_used_at timestamptz NULL,
        revoked_at timestamptz NULL,
        revoked_by text NULL
      )`);
    await runner.query(
      `CREATE UNIQUE INDEX api_keys_active_name ON registry.api_keys (name) WHERE revoked_at IS NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS registry.api_keys`);
  }
}
