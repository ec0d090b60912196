import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../testing/src/test-database';
import {
  closeEmbeddedDatabases,
  createAppDataSource,
  DatabaseTarget,
  Int8,
  queryChanged,
  queryRows,
} from '../src';

class CreateTyped1700000000001 implements MigrationInterface {
  name = 'CreateTyped1700000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE "rows_test"."typed" (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code char(8) NOT NULL, n integer NOT NULL,
      x double precision NOT NULL, big bigint NOT NULL, flag boolean NOT NULL, tags text[] NOT NULL,
      doc jsonb NOT NULL, at timestamptz NOT NULL, blob bytea NOT NULL, amount numeric NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE "rows_test"."typed"`);
  }
}

/** The row as queryRows' documentation says the drivers answer it. */
interface TypedRow {
  id: Int8;
  code: string;
  n: number;
  x: number;
  big: Int8;
  flag: boolean;
  tags: string[];
  doc: { a: number[] };
  at: Date;
  blob: Uint8Array;
  amount: string;
}

describe.each(['postgres', 'embedded'] as const)('queryRows and queryChanged on %s', (kind) => {
  let db: TestDatabase | undefined;
  let ds: DataSource;

  beforeAll(async () => {
    let target: DatabaseTarget;
    if (kind === 'postgres') {
      db = await createTestDatabase();
      target = { kind: 'postgres', url: db.url };
    } else {
      target = { kind: 'embedded', dataDir: `memory://rows-${Date.now()}` };
    }
    ds = await createAppDataSource({
      target,
      schema: 'rows_test',
      entities: [],
      migrations: [CreateTyped1700000000001],
    });
  });

  afterAll(async () => {
    await ds?.destroy();
    await closeEmbeddedDatabases();
    await db?.drop();
  });

  it('answers the columns with the types its documentation states', async () => {
    const [row] = await queryRows<TypedRow>(
      ds.manager,
      `INSERT INTO "rows_test"."typed" (code, n, x, big, flag, tags, doc, at, blob, amount)
       VALUES ('ab', 7, 0.5, 9007199254740993, true, ARRAY['p', 'q'], '{"a": [1, 2]}', '2026-01-02T03:04:05Z',
               '\\x0102ff', 1.25)
       RETURNING *`,
    );
    expect(row.code).toBe('ab      ');
    expect(row).toMatchObject({
      n: 7,
      x: 0.5,
      flag: true,
      tags: ['p', 'q'],
      doc: { a: [1, 2] },
      amount: '1.25',
    });
    expect(['string', 'number', 'bigint']).toContain(typeof row.id);
    expect(Number(row.id)).toBe(1);
    // Past 2^53: node-postgres keeps the digits in a string, PGlite answers a bigint.
    expect(BigInt(row.big)).toBe(9007199254740993n);
    expect(row.at).toBeInstanceOf(Date);
    expect(row.at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(row.blob).toBeInstanceOf(Uint8Array);
    expect([...row.blob]).toEqual([1, 2, 255]);
    const [counted] = await queryRows<{ n: Int8; total: Int8 }>(
      ds,
      `SELECT count(*) AS n, sum(n) AS total FROM "rows_test"."typed" WHERE code = $1`,
      ['ab'],
    );
    expect([Number(counted.n), Number(counted.total)]).toEqual([1, 7]);
  });

  it('answers an UPDATE or DELETE with its rows and the count of rows it changed', async () => {
    await ds.query(`INSERT INTO "rows_test"."typed" (code, n, x, big, flag, tags, doc, at, blob, amount)
      SELECT 'c' || i, i, 0, 0, false, '{}', '{}', now(), '', 0 FROM generate_series(1, 3) i`);
    const updated = await queryChanged<{ n: number }>(
      ds.manager,
      `UPDATE "rows_test"."typed" SET n = n + 10 WHERE code LIKE 'c%' RETURNING n`,
    );
    expect(updated.affected).toBe(3);
    expect(updated.rows.map((r) => r.n).sort((a, b) => a - b)).toEqual([11, 12, 13]);
    const deleted = await queryChanged(ds, `DELETE FROM "rows_test"."typed" WHERE code LIKE $1`, ['c%']);
    expect(deleted).toEqual({ rows: [], affected: 3 });
    await expect(queryChanged(ds, `SELECT 1`)).rejects.toThrow('queryChanged runs an UPDATE or a DELETE');
  });
});
