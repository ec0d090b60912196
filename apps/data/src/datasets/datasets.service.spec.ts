import { InvalidInputError, NotFoundError, UnprocessableError } from '@sepal/contracts';
import { inMemoryDataServices, syntheticIris } from '../../test/fakes';
import { IRIS } from '../catalog/catalog';
import { DatasetFormatError } from './domain/dataset-format-error';

describe('DatasetsService', () => {
  let wired: ReturnType<typeof inMemoryDataServices>;
  beforeEach(() => {
    wired = inMemoryDataServices();
  });

  const importText = (content: string, fileName = 'mine.data', correlationId?: string) =>
    wired.datasets.importDataset({ dataset: 'iris', content, fileName }, correlationId);
  const splitsOf = (versionId: string) =>
    new Map((wired.datasetsRepository.rows.get(versionId) ?? []).map((row) => [row.key, row.split]));

  it('writes a first version named by its content, without parent, split per class, announced once', async () => {
    const { version, created } = await importText(syntheticIris(10), 'mine.data', 'corr-1');

    expect(created).toBe(true);
    expect(version).toMatchObject({
      dataset: 'iris',
      seq: 1,
      parentId: null,
      reason: 'import',
      rowCount: 30,
    });
    expect(version.id).toMatch(/^[0-9a-f]{64}$/);
    for (const label of IRIS.classes ?? []) {
      expect(version.classCounts.train[label]).toBe(8);
      expect(version.classCounts.test[label]).toBe(2);
    }
    expect(version.source).toEqual({ file: 'mine.data', rows: 30 });
    expect(wired.datasetsRepository.announced).toEqual([
      {
        correlationId: 'corr-1',
        event: expect.objectContaining({
          dataset: 'iris',
          version: version.id,
          parentVersion: null,
          rowCount: 30,
          trainRows: 24,
          testRows: 6,
          classCounts: { 'Iris-setosa': 10, 'Iris-versicolor': 10, 'Iris-virginica': 10 },
          reason: 'import',
        }),
      },
    ]);
    expect(wired.outbox.flushes).toBe(1);
  });

  it('returns the existing version for the same content, even under another file name (idempotent)', async () => {
    const first = await importText(syntheticIris(10), 'a.data');
    const again = await importText(syntheticIris(10), 'b.data');

    expect(again.created).toBe(false);
    expect(again.version.id).toBe(first.version.id);
    expect(wired.datasetsRepository.versions).toHaveLength(1);
    expect(wired.datasetsRepository.announced).toHaveLength(1);
    expect(wired.outbox.flushes).toBe(1);
  });

  it('makes changed content a child of the latest version whose rows keep their split', async () => {
    const v1 = (await importText(syntheticIris(10))).version;
    const v2 = (await importText(syntheticIris(14))).version;

    expect(v2).toMatchObject({ seq: 2, parentId: v1.id, rowCount: 42 });
    expect(v2.id).not.toBe(v1.id);
    const before = splitsOf(v1.id);
    const after = splitsOf(v2.id);
    expect(before.size).toBe(30);
    for (const [key, split] of before) expect(after.get(key)).toBe(split);
    expect(wired.datasetsRepository.announced.map((a) => a.event.parentVersion)).toEqual([null, v1.id]);
  });

  it('imports the shipped file with its documented corrections when no content is given', async () => {
    const { version } = await wired.datasets.importDataset({ dataset: 'iris' });

    expect(version.rowCount).toBe(150);
    expect(version.source).toEqual({ file: IRIS.file, rows: 150 });
    expect(version.cleaningRules.map((rule) => rule.id)).toEqual([
      'uci-iris-erratum-35',
      'uci-iris-erratum-38',
    ]);
  });

  it('writes nothing for a malformed file and names the line', async () => {
    const broken = syntheticIris(10).replace(/^(\d\.\d),/m, '$1x,');

    await expect(importText(broken)).rejects.toThrow(DatasetFormatError);
    await expect(importText(broken)).rejects.toThrow(/^line 1: column 'sepal_length'/);
    await expect(importText('')).rejects.toThrow(/empty/);
    expect(wired.datasetsRepository.versions).toEqual([]);
    expect(wired.datasetsRepository.announced).toEqual([]);
  });

  it('refuses an unknown dataset, naming the known ones', async () => {
    const error = await wired.datasets
      .importDataset({ dataset: 'nope', content: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).hint).toMatch(/iris/);
  });

  it('refuses to append to a dataset that has no version, and keeps nothing of the attempt', async () => {
    const write = wired.datasets.writeVersion(
      IRIS,
      { features: IRIS.features, target: IRIS.target, task: 'classification', labels: [] },
      { rows: async () => [], reason: 'feedback', source: {} },
      [],
      undefined,
      true,
    );

    await expect(write).rejects.toThrow(UnprocessableError);
    expect(wired.datasetsRepository.datasets.size).toBe(0);
    expect(wired.outbox.flushes).toBe(0);
  });

  it("resolves 'latest', a number and an id prefix, and says what is wrong with a bad reference", async () => {
    await expect(wired.datasets.resolveVersion('iris', 'latest')).rejects.toThrow(NotFoundError);
    const v1 = (await importText(syntheticIris(10))).version;
    const v2 = (await importText(syntheticIris(12))).version;

    expect((await wired.datasets.resolveVersion('iris', 'latest')).id).toBe(v2.id);
    expect((await wired.datasets.resolveVersion('iris', 'v1')).id).toBe(v1.id);
    expect((await wired.datasets.resolveVersion('iris', v2.id.slice(0, 8))).id).toBe(v2.id);
    await expect(wired.datasets.resolveVersion('iris', 'v3')).rejects.toThrow(/has no version 'v3'/);
    await expect(wired.datasets.resolveVersion('iris', 'not-a-ref')).rejects.toThrow(InvalidInputError);
  });

  it('diffs two versions: rows added with their class names, none removed or moved', async () => {
    await importText(syntheticIris(10));
    await importText(syntheticIris(11));

    const diff = await wired.datasets.diff('iris', 'v1', 'latest');
    expect(diff).toMatchObject({ rowsAdded: 3, rowsRemoved: 0, rowsMovedBetweenSplits: 0 });
    expect(diff.added.map((row) => row.label).sort()).toEqual([...(IRIS.classes ?? [])].sort());
    expect(diff.to.classCounts.train['Iris-setosa'] + diff.to.classCounts.test['Iris-setosa']).toBe(11);
  });

  it('exports a split as CSV with a header and class names', async () => {
    const { version } = await importText(syntheticIris(10));
    let csv = '';
    for await (const chunk of wired.datasets.exportCsv(version, 'test')) csv += chunk;

    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species,split');
    expect(lines).toHaveLength(1 + version.testRows);
    expect(lines.slice(1).every((line) => /,Iris-[a-z]+,test$/.test(line))).toBe(true);
  });
});
