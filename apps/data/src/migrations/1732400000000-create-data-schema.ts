import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateDataSchema1732400000000 implements MigrationInterface {
  name = 'CreateDataSchema1732400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE data.datasets (
        name text PRIMARY KEY,
        description text NOT NULL,
        task text NOT NULL,
        schema jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE data.dataset_versions (
        id char(64) PRIMARY KEY,
        dataset text NOT NULL REFERENCES data.datasets(name),
        seq integer NOT NULL,
        parent_id char(64) NULL REFERENCES data.dataset_versions(id),
        reason text NOT NULL,
        schema jsonb NOT NULL,
        row_count integer NOT NULL,
        train_rows integer NOT NULL,
        test_rows integer NOT NULL,
        class_counts jsonb NOT NULL,
        cleaning_rules jsonb NOT NULL,
        split_policy jsonb NOT NULL,
        source jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (dataset, seq)
      )`);
    await runner.query(`
      CREATE TABLE data.dataset_rows (
        version_id char(64) NOT NULL REFERENCES data.dataset_versions(id) ON DELETE CASCADE,
        ordinal integer NOT NULL,
        row_key text NOT NULL,
        features double precision[] NOT NULL,
        label integer NOT NULL,
        split text NOT NULL CHECK (split IN ('train', 'test')),
        origin text NOT NULL,
        PRIMARY KEY (version_id, ordinal),
        UNIQUE (version_id, row_key)
      )`);
    await runner.query(`
      CREATE TABLE data.feedback (
        id uuid PRIMARY KEY,
        dataset text NOT NULL REFERENCES data.datasets(name),
        features double precision[] NOT NULL,
        label integer NOT NULL,
        class_name text NOT NULL,
        flags jsonb NOT NULL DEFAULT '[]',
        source text NULL,
        message_id text NULL UNIQUE,
        received_at timestamptz NOT NULL DEFAULT now(),
        committed_version char(64) NULL REFERENCES data.dataset_versions(id)
      )`);
    await runner.query(
      `CREATE INDEX feedback_pending ON data.feedback (dataset, received_at) WHERE committed_version IS NULL`,
    );
    // The outbox and inbox of libs/messaging, as its outboxTableSql/inboxTableSql wrote them when this was released:
    // literal SQL, so a change in the library never changes this migration.
    await runner.query(`
      CREATE TABLE IF NOT EXISTS "data".outbox (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        message_id text NOT NULL UNIQUE,
        type text NOT NULL,
        correlation_id text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz NULL,
        attempts int NOT NULL DEFAULT 0,
        last_error text NULL
      )`);
    await runner.query(`
      CREATE TABLE IF NOT EXISTS "data".inbox (
        message_id text NOT NULL,
        consumer text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, consumer)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of ['inbox', 'outbox', 'feedback', 'dataset_rows', 'dataset_versions', 'datasets']) {
      await runner.query(`DROP TABLE IF EXISTS data.${table}`);
    }
  }
}
