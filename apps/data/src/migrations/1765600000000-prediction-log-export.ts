import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exporting the prediction log into a dataset version: the export is audited like a feedback commit, and a feedback
 * sample keeps the prediction id it judged, so an export leaves out the predictions whose labelled sample already
 * came into the dataset as feedback (the same sample twice would weigh double in training).
 */
export class PredictionLogExport1765600000000 implements MigrationInterface {
  name = 'PredictionLogExport1765600000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE data.audit_log DROP CONSTRAINT audit_log_action_check`);
    await runner.query(
      `ALTER TABLE data.audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN
         ('import', 'feedback-commit', 'feedback-auto-commit', 'evaluation-set-frozen', 'evaluation-set-extended',
          'prediction-log-export'))`,
    );
    await runner.query(`ALTER TABLE data.feedback ADD COLUMN prediction_id uuid NULL`);
    await runner.query(
      `CREATE INDEX feedback_prediction_id ON data.feedback (dataset, prediction_id) WHERE prediction_id IS NOT NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX data.feedback_prediction_id`);
    await runner.query(`ALTER TABLE data.feedback DROP COLUMN prediction_id`);
    await runner.query(`DELETE FROM data.audit_log WHERE action = 'prediction-log-export'`);
    await runner.query(`ALTER TABLE data.audit_log DROP CONSTRAINT audit_log_action_check`);
    await runner.query(
      `ALTER TABLE data.audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN
         ('import', 'feedback-commit', 'feedback-auto-commit', 'evaluation-set-frozen', 'evaluation-set-extended'))`,
    );
  }
}
