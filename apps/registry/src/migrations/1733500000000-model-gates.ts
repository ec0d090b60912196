import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The promotion gate of each registered model, append-only: every change is a row (who, why, when), and the model's
 * gate is its latest row. A model without a row gets the trainer's defaults for its task.
 */
export class ModelGates1733500000000 implements MigrationInterface {
  name = 'ModelGates1733500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.model_gates (
        id bigserial PRIMARY KEY,
        model_name text NOT NULL REFERENCES registry.models (name) ON DELETE CASCADE,
        metric text NOT NULL,
        direction text NOT NULL CHECK (direction IN ('up', 'down')),
        floor double precision NULL,
        margin double precision NOT NULL DEFAULT 0,
        actor text NOT NULL,
        reason text NOT NULL DEFAULT '',
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )
    `);
    await runner.query(`CREATE INDEX model_gates_model ON registry.model_gates (model_name, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE registry.model_gates`);
  }
}
