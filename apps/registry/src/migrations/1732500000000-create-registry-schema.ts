import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateRegistrySchema1732500000000 implements MigrationInterface {
  name = 'CreateRegistrySchema1732500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.experiments (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        tags jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE registry.runs (
        id uuid PRIMARY KEY,
        experiment_id uuid NOT NULL REFERENCES registry.experiments(id),
        parent_run_id uuid NULL REFERENCES registry.runs(id),
        name text NULL,
        status text NOT NULL CHECK (status IN ('scheduled', 'running', 'finished', 'failed', 'killed')),
        start_time timestamptz NOT NULL DEFAULT now(),
        end_time timestamptz NULL,
        params jsonb NOT NULL DEFAULT '{}',
        tags jsonb NOT NULL DEFAULT '{}',
        dataset text NULL,
        dataset_version text NULL,
        backend text NULL,
        correlation_id text NULL,
        error text NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX runs_experiment ON registry.runs (experiment_id, start_time DESC)`);
    await runner.query(
      `CREATE INDEX runs_parent ON registry.runs (parent_run_id) WHERE parent_run_id IS NOT NULL`,
    );
    await runner.query(`
      CREATE TABLE registry.metrics (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES registry.runs(id) ON DELETE CASCADE,
        key text NOT NULL,
        value double precision NOT NULL,
        step bigint NOT NULL DEFAULT 0,
        timestamp timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX metrics_history ON registry.metrics (run_id, key, step, timestamp)`);
    await runner.query(`
      CREATE TABLE registry.artifacts (
        sha256 char(64) PRIMARY KEY,
        size bigint NOT NULL,
        path text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE registry.models (
        name text PRIMARY KEY,
        description text NULL,
        tags jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE registry.model_versions (
        model_name text NOT NULL REFERENCES registry.models(name),
        version integer NOT NULL CHECK (version > 0),
        run_id uuid NULL REFERENCES registry.runs(id),
        sha256 char(64) NOT NULL,
        size bigint NULL,
        signature jsonb NULL,
        metrics jsonb NOT NULL DEFAULT '{}',
        description text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_name, version)
      )`);
    await runner.query(`
      CREATE TABLE registry.aliases (
        model_name text NOT NULL REFERENCES registry.models(name),
        alias text NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_name, alias),
        FOREIGN KEY (model_name, version) REFERENCES registry.model_versions(model_name, version)
      )`);
    await runner.query(`
      CREATE TABLE registry.alias_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_name text NOT NULL REFERENCES registry.models(name),
        alias text NOT NULL,
        from_version integer NULL,
        to_version integer NOT NULL,
        actor text NOT NULL,
        reason text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX alias_audit_model ON registry.alias_audit (model_name, id)`);
    // The outbox and inbox of libs/messaging, as its outboxTableSql/inboxTableSql wrote them when this was released:
    // literal SQL, so a change in the library never changes this migration.
    await runner.query(`
      CREATE TABLE IF NOT EXISTS "registry".outbox (
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
      CREATE TABLE IF NOT EXISTS "registry".inbox (
        message_id text NOT NULL,
        consumer text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, consumer)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of [
      'inbox',
      'outbox',
      'alias_audit',
      'aliases',
      'model_versions',
      'models',
      'artifacts',
      'metrics',
      'runs',
      'experiments',
    ]) {
      await runner.query(`DROP TABLE IF EXISTS registry.${table}`);
    }
  }
}
