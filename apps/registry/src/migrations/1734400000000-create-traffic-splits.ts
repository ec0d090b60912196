import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Traffic splits: per model, the weights of the versions sharing its requests (canary) and an optional shadow
 * version; every change is kept in `traffic_audit` with who and why.
 */
export class CreateTrafficSplits1734400000000 implements MigrationInterface {
  name = 'CreateTrafficSplits1734400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.traffic_splits (
        model_name text PRIMARY KEY REFERENCES registry.models(name),
        weights jsonb NOT NULL,
        shadow_version integer NULL,
        reason text NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`
      CREATE TABLE registry.traffic_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_name text NOT NULL REFERENCES registry.models(name),
        weights jsonb NOT NULL,
        shadow_version integer NULL,
        reason text NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL
      )`);
    await runner.query(`CREATE INDEX traffic_audit_by_model ON registry.traffic_audit (model_name, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE registry.traffic_audit`);
    await runner.query(`DROP TABLE registry.traffic_splits`);
  }
}
