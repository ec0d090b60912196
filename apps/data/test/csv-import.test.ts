import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, TestDatabase } from '../../../libs/testing/src/test-database';
import { TooManyRequestsError } from '@sepal/contracts';
import { deleteNamespace, uniqueNamespace } from '@sepal/testing';
import { startDataApp } from '../src/bootstrap';
import { DataConfig } from '../src/data.config';
import { DatasetImportService } from '../src/datasets/dataset-import.service';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

/** A CSV with a categorical column, missing cells (empty, NA, ?) and a class target. */
const PETS = [
  'weight,colour,age,kind',
  '4.1,black,3,cat',
  '30.5,brown,NA,dog',
  '3.9,,2,cat',
  '25,black,?,dog',
  '4.4,white,5,cat',
  '28.1,brown,7,dog',
  '3.5,white,1,cat',
  '35.0,black,9,dog',
  '4.0,grey,4,cat',
  '27.7,white,6,dog',
].join('\n');

/** A large-ish numeric dataset: rows deterministic, target a number. */
function bigCsv(rows: number, seed = 1): string {
  const lines = ['a;b;c;y'];
  for (let i = 0; i < rows; i++) {
    const a = ((i * 7919 + seed) % 1000) / 10;
    const b = ((i * 104729 + seed) % 997) / 7;
    lines.push(`${a};${b.toFixed(3)};${i % 3 === 0 ? 'x' : 'z'};${(a * 0.3 + b * 0.1).toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}

describe.each(['real services', 'embedded adapters'] as const)('CSV import on %s', (mode) => {
  let app: NestFastifyApplication;
  let db: TestDatabase | undefined;
  let namespace: string;

  const inject = (method: 'GET' | 'POST', url: string, payload?: string | Buffer | object, csv = true) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method,
        url,
        payload: payload as string,
        headers: {
          'x-sepal-client': '1',
          ...(csv && payload !== undefined ? { 'content-type': 'text/csv' } : {}),
        },
      });
  const storedRows = async (dataset: string) => {
    const [row] = await app
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM data.rows WHERE dataset = $1`, [dataset]);
    return row.n as number;
  };
  const versionCount = async (dataset: string) => {
    const response = await inject('GET', `/datasets/${dataset}/versions`);
    return response.statusCode === 200 ? (response.json() as unknown[]).length : 0;
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('csv');
    db = mode === 'real services' ? await createTestDatabase() : undefined;
    const config = DataConfig.load({
      DATABASE_URL: db?.url,
      AMQP_URL: mode === 'real services' ? AMQP_URL : undefined,
      SEPAL_HOME: `memory://csv-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      DATA_DIR: join(__dirname, '../../../data'),
      FEEDBACK_COMMIT_EVERY: '0',
      DATA_MAX_IMPORT_BYTES: String(MAX_IMPORT_BYTES),
      LOG_LEVEL: 'warn',
    });
    app = await startDataApp(config, { listen: false });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    if (mode === 'real services') await deleteNamespace(AMQP_URL, namespace, ['data.feedback']);
  });

  it('dry-runs a CSV: the inferred schema, the row count, the problems, and nothing written', async () => {
    const response = await inject('POST', '/datasets/pets/import?target=kind&dryRun=true', PETS);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      dryRun: true,
      schema: {
        features: ['weight', 'colour', 'age'],
        target: 'kind',
        task: 'classification',
        labels: ['cat', 'dog'],
        columns: [
          { name: 'weight', type: 'numeric' },
          { name: 'colour', type: 'categorical', encoding: 'one-hot' },
          { name: 'age', type: 'numeric' },
        ],
      },
      rowCount: 10,
      problems: [],
    });
    const bad = await inject(
      'POST',
      '/datasets/pets/import?target=kind&dryRun=true',
      `${PETS}\n3.3,red,2,\n3.1,red,cat`,
    );
    expect(bad.json().rowCount).toBe(10);
    expect(bad.json().problems).toEqual([
      "line 12: column 'kind' (the target) is empty; every row needs its class",
      "line 13: expected 4 columns separated by ',', found 3",
    ]);
    expect(await versionCount('pets')).toBe(0);
    expect(await storedRowCount()).toBe(0);
  });

  async function storedRowCount() {
    const [row] = await app.get(DataSource).query(`SELECT count(*)::int AS n FROM data.rows`);
    return row.n as number;
  }

  it('imports a CSV with a categorical column and missing cells; pages give strings and nulls', async () => {
    const response = await inject('POST', '/datasets/pets/import?target=kind', PETS);
    expect(response.statusCode).toBe(201);
    const { version, rowsWritten } = response.json();
    expect(rowsWritten).toBe(10);
    expect(version.rowCount).toBe(10);
    expect(version.schema.columns[1]).toEqual({ name: 'colour', type: 'categorical', encoding: 'one-hot' });
    expect(version.classCounts.test).toEqual({ cat: 1, dog: 1 });
    const page = (await inject('GET', '/datasets/pets/versions/latest/rows?limit=100')).json();
    const all = page.features as unknown[][];
    expect(all).toContainEqual([30.5, 'brown', null]);
    expect(all).toContainEqual([3.9, null, 2]);
    expect(all).toContainEqual([25, 'black', null]);
    expect(new Set(page.labels)).toEqual(new Set([0, 1]));
    const exported = (await inject('GET', '/datasets/pets/versions/latest/export.csv')).body;
    expect(exported.split('\n')[0]).toBe('weight,colour,age,kind,split');
    expect(exported).toMatch(/^3\.9,,2,cat,(train|test)$/m);
  });

  it('names a version by its content, keys repeated rows by occurrence and splits them as it always has', async () => {
    // 3,000 rows of 420 distinct ones: each repeat gets its own key (':1', ':2', ...) and its own split rank.
    const lines = ['x1,x2,city,label'];
    for (let i = 0; i < 3000; i++) {
      lines.push(
        `${i % 7},${i % 5 === 0 ? '' : i % 5},${['a', 'b', 'c', ''][i % 4]},${['setosa', 'virginica', 'versicolor'][i % 3]}`,
      );
    }
    const response = await inject('POST', '/datasets/repeats/import?target=label', `${lines.join('\n')}\n`);
    expect(response.statusCode).toBe(201);
    const version = response.json().version;
    // The id the import wrote before staging moved to COPY and the split to one pass (same seed, fraction, content).
    expect(version.id).toBe('0845e31379304d1e040a2c42f3ee78391b8e340f01d297f6bb03846f5359959c');
    expect(version.classCounts.test).toEqual({ setosa: 200, virginica: 200, versicolor: 200 });
    // Rows in file order (row ids), each repeat keyed by its occurrence.
    const keys = (
      await app
        .get(DataSource)
        .query(`SELECT row_key FROM data.rows WHERE dataset = 'repeats' ORDER BY row_id LIMIT 841`)
    ).map((r: { row_key: string }) => r.row_key);
    expect(keys[420]).toBe(`${keys[0]}:1`);
    expect(keys[840]).toBe(`${keys[0]}:2`);
    const page = (await inject('GET', `/datasets/repeats/versions/${version.id}/rows?limit=3`)).json();
    expect(page.features).toEqual([
      [0, null, 'a'],
      [1, 1, 'b'],
      [2, 2, 'c'],
    ]);
  });

  it('answers the same version for the same content in another row order', async () => {
    const [header, ...rows] = PETS.split('\n');
    const shuffled = [header, ...rows.reverse()].join('\n');
    const first = (await inject('GET', '/datasets/pets/versions/latest')).json();
    const again = await inject('POST', '/datasets/pets/import', shuffled);
    expect(again.statusCode).toBe(200);
    expect(again.json().version.id).toBe(first.id);
  });

  it('accepts feedback with a category and a missing value, and commits it as one more row', async () => {
    const sample = await inject(
      'POST',
      '/datasets/pets/feedback',
      { features: { weight: 5.2, colour: 'ginger', age: null }, label: 'cat' },
      false,
    );
    expect(sample.statusCode).toBe(202);
    const wrongType = await inject(
      'POST',
      '/datasets/pets/feedback',
      { features: ['heavy', 'black', 3], label: 'cat' },
      false,
    );
    expect(wrongType.statusCode).toBe(422);
    expect(wrongType.json().message).toMatch(/feature 'weight' is numeric/);
    const commit = await inject('POST', '/datasets/pets/feedback/commit');
    expect(commit.statusCode).toBe(201);
    expect(commit.json().version.rowCount).toBe(11);
    expect(await storedRows('pets')).toBe(11);
    const diff = (await inject('GET', '/datasets/pets/diff?from=v1&to=latest')).json();
    expect(diff.rowsAdded).toBe(1);
    expect(diff.added[0]).toMatchObject({ features: [5.2, 'ginger', null], label: 'cat' });
  });

  it('refuses a later import that does not fit the stored schema, naming the column, unless newSchema=true', async () => {
    const missing = PETS.replace('weight,colour,age,kind', 'mass,colour,age,kind');
    const refused = await inject('POST', '/datasets/pets/import', missing);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/column 'weight' of the dataset's schema is missing/);
    const typeChange = await inject('POST', '/datasets/pets/import', `${PETS}\nheavy,black,3,cat`);
    expect(typeChange.statusCode).toBe(400);
    expect(typeChange.json().message).toMatch(/^line 12: column 'weight': 'heavy' is not a number/);
    expect(await versionCount('pets')).toBe(2);
    const replaced = await inject('POST', '/datasets/pets/import?target=kind&newSchema=true', missing);
    expect(replaced.statusCode).toBe(201);
    expect(replaced.json().version.schema.features).toEqual(['mass', 'colour', 'age']);
    expect(replaced.json().version.rowCount).toBe(10);
  });

  it('imports Wine Quality white as a regression task, split by quantile bins of quality', async () => {
    const response = await inject('POST', '/datasets/wine-quality-white/import?task=regression');
    expect(response.statusCode).toBe(201);
    const { version } = response.json();
    expect(version.schema).toMatchObject({ task: 'regression', target: 'quality', labels: [] });
    expect(version.rowCount).toBe(4898);
    expect(version.testRows).toBeGreaterThanOrEqual(975);
    expect(version.testRows).toBeLessThanOrEqual(985);
    expect(version.splitPolicy.method).toBe('quantile-stratified-hash-stable');
    const page = (
      await inject('GET', '/datasets/wine-quality-white/versions/latest/rows?split=test&limit=10000')
    ).json();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(page.labels).toHaveLength(version.testRows);
    expect(page.labels.every((y: number) => y >= 3 && y <= 9)).toBe(true);
    expect(Math.abs(mean(page.labels) - 5.88)).toBeLessThan(0.1);
    const feedback = await inject(
      'POST',
      '/datasets/wine-quality-white/feedback',
      { features: [7, 0.27, 0.36, 20.7, 0.045, 45, 170, 1.001, 3, 0.45, 8.8], label: 6.5 },
      false,
    );
    expect(feedback.statusCode).toBe(202);
    const notNumber = await inject(
      'POST',
      '/datasets/wine-quality-white/feedback',
      { features: [7, 0.27, 0.36, 20.7, 0.045, 45, 170, 1.001, 3, 0.45, 8.8], label: 'good' },
      false,
    );
    expect(notNumber.statusCode).toBe(422);
    expect(notNumber.json().message).toMatch(/'good' is not a number/);
  });

  it('writes only the 25 committed rows on a large parent', async () => {
    const parent = await inject('POST', '/datasets/big/import?target=y', bigCsv(20_000));
    expect(parent.statusCode).toBe(201);
    expect(parent.json().version.schema.task).toBe('regression');
    expect(await storedRows('big')).toBe(20_000);
    for (let i = 0; i < 25; i++) {
      const sent = await inject(
        'POST',
        '/datasets/big/feedback',
        { features: [i, i / 2, 'x'], label: i },
        false,
      );
      expect(sent.statusCode).toBe(202);
    }
    const commit = await inject('POST', '/datasets/big/feedback/commit');
    expect(commit.statusCode).toBe(201);
    expect(commit.json().feedbackRows).toBe(25);
    expect(commit.json().version.rowCount).toBe(20_025);
    expect(await storedRows('big')).toBe(20_025);
    const train = commit.json().version.trainRows;
    let read = 0;
    let cursor = -1;
    for (;;) {
      const page = (
        await inject('GET', `/datasets/big/versions/latest/rows?split=train&limit=10000&cursor=${cursor}`)
      ).json();
      read += page.labels.length;
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(read).toBe(train);
    // The parent still reads as it was.
    expect((await inject('GET', '/datasets/big/versions/v1')).json().rowCount).toBe(20_000);
  }, 120_000);

  it('leaves no version and no row behind when a long stream breaks near its end', async () => {
    const broken = `${bigCsv(12_000, 7)}1.5;2.5;x\n`;
    const response = await inject('POST', '/datasets/broken/import?target=y', broken);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe("line 12002: expected 4 columns separated by ';', found 3");
    expect(await storedRows('broken')).toBe(0);
    expect((await inject('GET', '/datasets/broken/versions')).statusCode).toBe(404);
    // Neither this failed write nor the ones before left a staging table behind.
    const [{ n }] = await app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'data' AND tablename LIKE 'import%'`,
      );
    expect(n).toBe(0);
  }, 60_000);

  it('leaves no version and no row behind when the body stream is aborted after batches were staged', async () => {
    const text = Buffer.from(bigCsv(30_000, 11));
    async function* aborted() {
      // Two thirds of the file (several staged batches), then the upload breaks.
      for (let at = 0; at < (text.length * 2) / 3; at += 16_384) yield text.subarray(at, at + 16_384);
      throw new Error('the client aborted the upload');
    }
    await expect(
      app
        .get(DatasetImportService)
        .importDataset({ dataset: 'aborted', body: aborted(), query: { target: 'y' } }),
    ).rejects.toThrow('the client aborted the upload');
    expect(await storedRows('aborted')).toBe(0);
    expect(await versionCount('aborted')).toBe(0);
  }, 60_000);

  it('reads at most DATA_MAX_CONCURRENT_IMPORTS (2) files at once: the next is refused with 429 naming it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* held() {
      yield Buffer.from('a,b,y\n1,2,0\n3,4,1\n');
      await gate;
      throw new Error('released by the test');
    }
    const service = app.get(DatasetImportService);
    const dryRun = (dataset: string, body: AsyncIterable<Buffer>) =>
      service.importDataset({ dataset, body, query: { target: 'y', dryRun: true } });
    const holding = ['held1', 'held2'].map((name) => dryRun(name, held()).catch((error: Error) => error));
    // Until both hold their slot a third read goes through; once they do, it is refused (never, without a limit).
    let refused: unknown;
    const deadline = Date.now() + 20_000;
    while (!refused && Date.now() < deadline) {
      refused = await dryRun(
        'third',
        (async function* () {
          yield Buffer.from('a,b,y\n1,2,0\n');
        })(),
      ).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect((refused as Error).message).toContain('DATA_MAX_CONCURRENT_IMPORTS=2');
    release();
    expect((await Promise.all(holding)).map((e) => (e as Error).message)).toEqual([
      'released by the test',
      'released by the test',
    ]);
    // The slots are free again.
    const after = await inject('POST', '/datasets/third/import?target=y&dryRun=true', 'a,b,y\n1,2,0\n');
    expect(after.statusCode).toBe(200);
  }, 60_000);

  it.each([
    [
      'a ragged row',
      'a,b,y\n1,2,3\n4,5\n',
      'target=y',
      400,
      "line 3: expected 3 columns separated by ',', found 2",
    ],
    [
      'a non-numeric value in a numeric column (after the sample the types are inferred from)',
      ['a,b,y', ...Array.from({ length: 1500 }, (_, i) => `${i},${i + 1},${i % 2}`), 'seven,8,1'].join('\n'),
      'target=y',
      400,
      "line 1502: column 'a': 'seven' is not a number",
    ],
    [
      'a target that does not exist',
      'a,b,y\n1,2,3\n',
      'target=z',
      400,
      "line 1: target column 'z' is not in the file (columns: a, b, y)",
    ],
    [
      'an empty target cell',
      'a,b,y\n1,2,3\n4,5,\n',
      'target=y',
      400,
      "line 3: column 'y' (the target) is empty",
    ],
    ['duplicate column names', 'a,a,y\n1,2,3\n', 'target=y', 400, "line 1: duplicate column name 'a'"],
    ['an empty file', '', 'target=y', 400, 'the file is empty'],
    ['a blank file', '\n\n  \n', 'target=y', 400, 'the file is empty'],
    [
      'a binary file',
      Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00]),
      'target=y',
      400,
      'the file is binary',
    ],
    [
      'a non-UTF-8 file',
      Buffer.from([0x61, 0x2c, 0x79, 0x0a, 0xe9, 0x2c, 0x31, 0x0a]),
      'target=y',
      400,
      'not UTF-8',
    ],
    [
      'a body over the limit',
      'a,y\n'.padEnd(MAX_IMPORT_BYTES + 10, '1'),
      'target=y',
      413,
      'larger than the limit of',
    ],
  ])('refuses %s, naming the problem, and writes nothing', async (_what, body, query, status, message) => {
    const response = await inject('POST', `/datasets/refused/import?${query}`, body);
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toContain(message);
    expect(await storedRows('refused')).toBe(0);
    expect(await versionCount('refused')).toBe(0);
  });

  it('refuses a dataset name that is not a safe identifier', async () => {
    const response = await inject('POST', '/datasets/..%2Fetc/import?target=y', 'a,y\n1,2\n');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/is not a safe identifier/);
    const upper = await inject('POST', '/datasets/Bad%20Name/import?target=y', 'a,y\n1,2\n');
    expect(upper.statusCode).toBe(400);
  });

  it('detects a semicolon or tab delimiter and a file without a header', async () => {
    const tab = 'x\tc\tlabel\n1\tu\ta\n2\tv\tb\n3\tu\ta\n4\tv\tb\n';
    const dry = (await inject('POST', '/datasets/tabbed/import?target=label&dryRun=true', tab)).json();
    expect(dry.schema.features).toEqual(['x', 'c']);
    expect(dry.rowCount).toBe(4);
    const headerless = (
      await inject('POST', '/datasets/nohead/import?target=column3&dryRun=true', '1;2;a\n3;4;b\n')
    ).json();
    expect(headerless.schema.features).toEqual(['column1', 'column2']);
    expect(headerless.rowCount).toBe(2);
  });
});
