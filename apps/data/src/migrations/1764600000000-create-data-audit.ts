import { MigrationInterface, QueryRunner } from 'typeorm';

/** Who changed which dataset: imports and feedback commits, with the calling key's name. */
export class CreateDataAudit1764600000000 implements MigrationInterface {
  name = 'CreateDataAudit1764600000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE data.audit_log (
        id bigserial PRIMARY KEY,
        dataset text NOT NULL,
        action text NOT NULL CHECK (action IN ('import', 'feedback-commit')),
        version_id text NULL,
        created boolean NOT NULL,
        actor text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX audit_log_by_dataset ON data.audit_log (dataset, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS data.audit_log`);
  }
}
