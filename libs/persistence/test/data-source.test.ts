import { MigrationInterface, QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../testing/src/test-database';
import { closeEmbeddedDatabases, createAppDataSource, DatabaseTarget } from '../src';

class CreateCounter1700000000000 implements MigrationInterface {
  name = 'CreateCounter1700000000000';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE "persist_test"."counter" (id int PRIMARY KEY, value int NOT NULL)`);
    await runner.query(`INSERT INTO "persist_test"."counter" VALUES (1, 0)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE "persist_test"."counter"`);
  }
}

const options = (target: DatabaseTarget) => ({
  target,
  schema: 'persist_test',
  entities: [],
  migrations: [CreateCounter1700000000000],
});

describe.each(['postgres', 'embedded'] as const)('createAppDataSource on %s', (kind) => {
  let db: TestDatabase | undefined;
  let target: DatabaseTarget;

  beforeAll(async () => {
    if (kind === 'postgres') {
      db = await createTestDatabase();
      target = { kind: 'postgres', url: db.url };
    } else {
      target = { kind: 'embedded', dataDir: `memory://persist-${Date.now()}` };
    }
  });

  afterAll(async () => {
    await closeEmbeddedDatabases();
    await db?.drop();
  });

  it('creates the schema, applies migrations once and records them in the schema', async () => {
    const first = await createAppDataSource(options(target));
    await first.destroy();
    const second = await createAppDataSource(options(target));
    const applied = await second.query(`SELECT name FROM "persist_test"."migrations"`);
    expect(applied.map((row: { name: string }) => row.name)).toEqual(['CreateCounter1700000000000']);
    await second.destroy();
  });

  it('keeps concurrent transactions apart (no lost update, a rollback undoes only its own work)', async () => {
    const ds = await createAppDataSource(options(target));
    const increment = () =>
      ds.transaction(async (manager) => {
        const [row] = await manager.query(
          `SELECT value FROM "persist_test"."counter" WHERE id = 1 FOR UPDATE`,
        );
        await new Promise((r) => setTimeout(r, 5));
        await manager.query(`UPDATE "persist_test"."counter" SET value = $1 WHERE id = 1`, [row.value + 1]);
      });
    const failing = ds
      .transaction(async (manager) => {
        await manager.query(`UPDATE "persist_test"."counter" SET value = value + 1000 WHERE id = 1`);
        throw new Error('boom');
      })
      .catch((error: Error) => error.message);
    const results = await Promise.all([increment(), increment(), failing, increment()]);
    expect(results[2]).toBe('boom');
    const [row] = await ds.query(`SELECT value FROM "persist_test"."counter" WHERE id = 1`);
    expect(row.value).toBe(3);
    await ds.destroy();
  });
});
