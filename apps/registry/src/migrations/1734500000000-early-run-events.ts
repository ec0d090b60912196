import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trainer's run events are applied in any order: a `training.progress` or `run.finished` that overtakes its run's
 * `training.started` waits in `early_run_events` until the run exists, and a trial's `training.started` may arrive
 * before its parent's, so a run's parent is no longer a foreign key (REST still checks that it exists).
 */
export class EarlyRunEvents1734500000000 implements MigrationInterface {
  name = 'EarlyRunEvents1734500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE registry.runs DROP CONSTRAINT IF EXISTS runs_parent_run_id_fkey`);
    await runner.query(`
      CREATE TABLE registry.early_run_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('progress', 'finished')),
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX early_run_events_run ON registry.early_run_events (run_id, id)`);
    await runner.query(`CREATE INDEX early_run_events_age ON registry.early_run_events (received_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS registry.early_run_events`);
    await runner.query(
      `ALTER TABLE registry.runs ADD CONSTRAINT runs_parent_run_id_fkey
         FOREIGN KEY (parent_run_id) REFERENCES registry.runs(id)`,
    );
  }
}
