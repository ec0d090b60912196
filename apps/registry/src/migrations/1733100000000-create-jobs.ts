import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable training jobs: one row per job (its request, attempt and derived state) and one per step, each keeping the
 * trainer's report with the highest (attempt, sequence). `served_versions` records which gateway replica serves
 * which model version, so a job's `served` step is complete whatever order the reports arrive in.
 */
export class CreateJobs1733100000000 implements MigrationInterface {
  name = 'CreateJobs1733100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.jobs (
        id text PRIMARY KEY,
        state text NOT NULL
          CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled')),
        dataset text NULL,
        dataset_version text NULL,
        reason text NULL,
        requested_by text NULL,
        correlation_id text NOT NULL,
        attempt integer NOT NULL CHECK (attempt > 0),
        parent_run_id uuid NULL,
        model_name text NULL,
        model_version integer NULL,
        request jsonb NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at timestamptz NULL,
        ended_at timestamptz NULL,
        error text NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        cancel_requested_by text NULL,
        cancel_requested_at timestamptz NULL
      )`);
    await runner.query(`CREATE INDEX jobs_newest ON registry.jobs (created_at DESC, id DESC)`);
    await runner.query(`CREATE INDEX jobs_by_state ON registry.jobs (state, created_at DESC, id DESC)`);
    await runner.query(`CREATE INDEX jobs_by_dataset ON registry.jobs (dataset, created_at DESC, id DESC)`);
    await runner.query(
      `CREATE INDEX jobs_by_model ON registry.jobs (model_name, model_version) WHERE model_version IS NOT NULL`,
    );
    await runner.query(`
      CREATE TABLE registry.job_steps (
        job_id text NOT NULL REFERENCES registry.jobs(id) ON DELETE CASCADE,
        step text NOT NULL,
        state text NOT NULL
          CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
        attempt integer NOT NULL,
        sequence bigint NOT NULL,
        started_at timestamptz NULL,
        ended_at timestamptz NULL,
        worker text NULL,
        summary jsonb NOT NULL DEFAULT '{}',
        error text NULL,
        PRIMARY KEY (job_id, step)
      )`);
    await runner.query(`
      CREATE TABLE registry.served_versions (
        model_name text NOT NULL,
        version integer NOT NULL,
        replica text NOT NULL,
        sha256 char(64) NOT NULL,
        served_at timestamptz NOT NULL,
        PRIMARY KEY (model_name, version, replica)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of ['served_versions', 'job_steps', 'jobs']) {
      await runner.query(`DROP TABLE IF EXISTS registry.${table}`);
    }
  }
}
