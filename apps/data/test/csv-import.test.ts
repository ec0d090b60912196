import { DataSource } from 'typeorm';
import { bigCsv, CSV_IMPORT_MODES, PETS, useCsvImportApp } from './csv-import-harness';

describe.each(CSV_IMPORT_MODES)('CSV import on %s', (mode) => {
  const harness = useCsvImportApp(mode);
  const { inject, storedRows, versionCount } = harness;

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
    const [row] = await harness.app.get(DataSource).query(`SELECT count(*)::int AS n FROM data.rows`);
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
      await harness.app
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
