import { TooManyRequestsError } from '@sepal/contracts';
import { DataSource } from 'typeorm';
import { DatasetImportService } from '../src/datasets/dataset-import.service';
import { bigCsv, CSV_IMPORT_MODES, MAX_IMPORT_BYTES, useCsvImportApp } from './csv-import-harness';

describe.each(CSV_IMPORT_MODES)('CSV import refusals and limits on %s', (mode) => {
  const harness = useCsvImportApp(mode);
  const { inject, storedRows, versionCount } = harness;

  it('leaves no version and no row behind when a long stream breaks near its end', async () => {
    const broken = `${bigCsv(12_000, 7)}1.5;2.5;x\n`;
    const response = await inject('POST', '/datasets/broken/import?target=y', broken);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe("line 12002: expected 4 columns separated by ';', found 3");
    expect(await storedRows('broken')).toBe(0);
    expect((await inject('GET', '/datasets/broken/versions')).statusCode).toBe(404);
    // Neither this failed write nor the ones before left a staging table behind.
    const [{ n }] = await harness.app
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
      harness.app
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
    const service = harness.app.get(DatasetImportService);
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
});
