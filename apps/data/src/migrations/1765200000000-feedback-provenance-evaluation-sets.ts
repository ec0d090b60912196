import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Feedback cannot promote by itself.
 *
 * - A feedback row records the key that sent it (`submitted_by`; rows from before are 'unknown') and the id its
 *   client gave it (`client_id`, idempotency only, unique per key); the row id is the server's.
 * - The audit log also records automatic feedback commits and the frozen evaluation sets' changes.
 * - A frozen evaluation set per model: the test rows of its dataset version at its first promotion, extended only by
 *   later imports (never by feedback). Its rows are named by row id, so what decides a promotion never moves.
 */
export class FeedbackProvenanceEvaluationSets1765200000000 implements MigrationInterface {
  name = 'FeedbackProvenanceEvaluationSets1765200000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE data.feedback ADD COLUMN submitted_by text NOT NULL DEFAULT 'unknown'`);
    await runner.query(`ALTER TABLE data.feedback ALTER COLUMN submitted_by DROP DEFAULT`);
    await runner.query(`ALTER TABLE data.feedback ADD COLUMN client_id text NULL`);
    await runner.query(
      `CREATE UNIQUE INDEX feedback_client_id ON data.feedback (dataset, submitted_by, client_id)
       WHERE client_id IS NOT NULL`,
    );
    await runner.query(`ALTER TABLE data.audit_log DROP CONSTRAINT audit_log_action_check`);
    await runner.query(
      `ALTER TABLE data.audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN
         ('import', 'feedback-commit', 'feedback-auto-commit', 'evaluation-set-frozen', 'evaluation-set-extended'))`,
    );
    await runner.query(`
      CREATE TABLE data.evaluation_sets (
        model text NOT NULL,
        dataset text NOT NULL REFERENCES data.datasets(name),
        base_version char(64) NOT NULL REFERENCES data.dataset_versions(id),
        schema jsonb NOT NULL,
        seen_seq integer NOT NULL,
        frozen_by text NOT NULL,
        frozen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model, dataset)
      )`);
    await runner.query(`
      CREATE TABLE data.evaluation_rows (
        model text NOT NULL,
        dataset text NOT NULL,
        row_id bigint NOT NULL,
        version_id char(64) NOT NULL REFERENCES data.dataset_versions(id),
        PRIMARY KEY (model, dataset, row_id),
        FOREIGN KEY (model, dataset) REFERENCES data.evaluation_sets(model, dataset) ON DELETE CASCADE,
        FOREIGN KEY (dataset, row_id) REFERENCES data.rows(dataset, row_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS data.evaluation_rows`);
    await runner.query(`DROP TABLE IF EXISTS data.evaluation_sets`);
    await runner.query(`DELETE FROM data.audit_log WHERE action NOT IN ('import', 'feedback-commit')`);
    await runner.query(`ALTER TABLE data.audit_log DROP CONSTRAINT audit_log_action_check`);
    await runner.query(
      `ALTER TABLE data.audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN ('import', 'feedback-commit'))`,
    );
    await runner.query(`DROP INDEX IF EXISTS data.feedback_client_id`);
    await runner.query(`ALTER TABLE data.feedback DROP COLUMN client_id`);
    await runner.query(`ALTER TABLE data.feedback DROP COLUMN submitted_by`);
  }
}
