import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A traffic split carries a revision, raised by every change: a gateway compares the registry's revision with the one
 * it applied, never a time taken from an event (a forged `changedAt` years ahead made real changes look stale).
 */
export class TrafficRevision1765100000000 implements MigrationInterface {
  name = 'TrafficRevision1765100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE registry.traffic_splits ADD COLUMN revision bigint NOT NULL DEFAULT 1`);
    await runner.query(`ALTER TABLE registry.traffic_audit ADD COLUMN revision bigint NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE registry.traffic_audit DROP COLUMN IF EXISTS revision`);
    await runner.query(`ALTER TABLE registry.traffic_splits DROP COLUMN IF EXISTS revision`);
  }
}
