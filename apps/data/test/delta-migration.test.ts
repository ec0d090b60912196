import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../libs/testing/src/test-database';
import { uniqueNamespace } from '@sepal/testing';
import { startDataApp } from '../src/bootstrap';
import { DataConfig } from '../src/data.config';
import { CreateDataSchema1732400000000 } from '../src/migrations/1732400000000-create-data-schema';

const V1 = 'a'.repeat(64);
const V2 = 'b'.repeat(64);
const SCHEMA = {
  features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  target: 'species',
  task: 'classification',
  labels: ['Iris-setosa', 'Iris-versicolor'],
};

/** Versions written before the delta storage (one full copy of every row per version) still read after it. */
describe('the delta-versions migration on PostgreSQL', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  const http = (method: 'GET' | 'POST', url: string, payload?: object) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload, headers: { 'x-sepal-client': '1' } });

  beforeAll(async () => {
    db = await createTestDatabase();
    const old = new DataSource({
      type: 'postgres',
      url: db.url,
      schema: 'data',
      migrations: [CreateDataSchema1732400000000],
      migrationsTableName: 'migrations',
    });
    await old.initialize();
    await old.query('CREATE SCHEMA data');
    await old.runMigrations({ transaction: 'each' });
    await old.query(
      `INSERT INTO data.datasets (name, description, task, schema) VALUES ('iris', 'Iris', 'classification', $1)`,
      [JSON.stringify(SCHEMA)],
    );
    const version = (id: string, seq: number, parent: string | null, rows: number) =>
      old.query(
        `INSERT INTO data.dataset_versions (id, dataset, seq, parent_id, reason, schema, row_count, train_rows,
           test_rows, class_counts, cleaning_rules, split_policy, source)
         VALUES ($1, 'iris', $2, $3, 'import', $4, $5, $5 - 1, 1, '{"train":{},"test":{}}', '[]',
           '{"testFraction":0.2,"seed":42,"method":"stratified-hash-stable"}', '{}')`,
        [id, seq, parent, JSON.stringify(SCHEMA), rows],
      );
    const row = (
      versionId: string,
      ordinal: number,
      key: string,
      features: number[],
      label: number,
      split: string,
    ) =>
      old.query(
        `INSERT INTO data.dataset_rows (version_id, ordinal, row_key, features, label, split, origin)
         VALUES ($1, $2, $3, $4, $5, $6, 'iris.data')`,
        [versionId, ordinal, key, features, label, split],
      );
    await version(V1, 1, null, 3);
    await row(V1, 0, 'import:a', [5.1, 3.5, 1.4, 0.2], 0, 'train');
    await row(V1, 1, 'import:b', [7.0, 3.2, 4.7, 1.4], 1, 'train');
    await row(V1, 2, 'import:c', [4.9, 3.0, 1.4, 0.2], 0, 'test');
    await version(V2, 2, V1, 4);
    for (const [i, [key, features, label, split]] of (
      [
        ['import:a', [5.1, 3.5, 1.4, 0.2], 0, 'train'],
        ['import:b', [7.0, 3.2, 4.7, 1.4], 1, 'train'],
        ['import:c', [4.9, 3.0, 1.4, 0.2], 0, 'test'],
        ['feedback:d', [6.4, 3.2, 4.5, 1.5], 1, 'train'],
      ] as const
    ).entries()) {
      await row(V2, i, key, [...features], label, split);
    }
    await old.destroy();
    const namespace = uniqueNamespace('migrate');
    app = await startDataApp(
      DataConfig.load({
        DATABASE_URL: db.url,
        SEPAL_HOME: `memory://migrate-${namespace}`,
        SEPAL_NAMESPACE: namespace,
        FEEDBACK_COMMIT_EVERY: '0',
        LOG_LEVEL: 'warn',
      }),
      { listen: false },
    );
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('keeps every version, its id and its rows, and stores each row once', async () => {
    const versions = (await http('GET', '/datasets/iris/versions')).json();
    expect(versions.map((v: { id: string }) => v.id)).toEqual([V1, V2]);
    const v1 = (await http('GET', '/datasets/iris/versions/v1/rows?limit=100')).json();
    expect(v1.features).toEqual([
      [5.1, 3.5, 1.4, 0.2],
      [7.0, 3.2, 4.7, 1.4],
      [4.9, 3.0, 1.4, 0.2],
    ]);
    expect(v1.labels).toEqual([0, 1, 0]);
    const v2 = (await http('GET', '/datasets/iris/versions/v2/rows?split=train&limit=100')).json();
    expect(v2.features).toHaveLength(3);
    const diff = (await http('GET', '/datasets/iris/diff?from=v1&to=v2')).json();
    expect(diff).toMatchObject({ rowsAdded: 1, rowsRemoved: 0, rowsMovedBetweenSplits: 0 });
    const [{ n }] = await app.get(DataSource).query(`SELECT count(*)::int AS n FROM data.rows`);
    expect(n).toBe(4);
  });

  it('appends feedback to a migrated version by writing only the new row', async () => {
    const sent = await http('POST', '/datasets/iris/feedback', {
      features: [5.0, 3.4, 1.5, 0.2],
      label: 'Iris-setosa',
    });
    expect(sent.statusCode).toBe(202);
    const commit = await http('POST', '/datasets/iris/feedback/commit');
    expect(commit.statusCode).toBe(201);
    expect(commit.json()).toMatchObject({ rowsWritten: 1, version: { seq: 3, parentId: V2, rowCount: 5 } });
    const [{ n }] = await app.get(DataSource).query(`SELECT count(*)::int AS n FROM data.rows`);
    expect(n).toBe(5);
  });
});
