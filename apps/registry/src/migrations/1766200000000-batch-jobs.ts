import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch scoring jobs share the job records of training jobs (steps, cancel, retry), told apart by `kind`. Their files
 * are kept apart from the model artifacts (which must be ONNX models a gateway may open): `batch_files` holds the CSVs
 * clients upload and the outputs trainers store, content-addressed in the same store; `batch_outputs` registers the
 * complete output of a job's attempt, written only once the whole file is stored.
 */
export class BatchJobs1766200000000 implements MigrationInterface {
  name = 'BatchJobs1766200000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE registry.jobs ADD COLUMN kind text NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'batch'))`,
    );
    await runner.query(`CREATE INDEX jobs_by_kind ON registry.jobs (kind, created_at DESC, id DESC)`);
    await runner.query(`
      CREATE TABLE registry.batch_files (
        sha256 char(64) PRIMARY KEY,
        size bigint NOT NULL,
        path text NOT NULL,
        uploaded_by text NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`
      CREATE TABLE registry.batch_outputs (
        job_id text NOT NULL REFERENCES registry.jobs(id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        sha256 char(64) NOT NULL REFERENCES registry.batch_files(sha256),
        size bigint NOT NULL,
        rows bigint NOT NULL,
        error_rows bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (job_id, attempt)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS registry.batch_outputs`);
    await runner.query(`DROP TABLE IF EXISTS registry.batch_files`);
    await runner.query(`DROP INDEX IF EXISTS registry.jobs_by_kind`);
    await runner.query(`ALTER TABLE registry.jobs DROP COLUMN IF EXISTS kind`);
  }
}
