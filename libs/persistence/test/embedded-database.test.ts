/*
 * The pristine cluster copy an in-memory embedded database starts from: made once, kept on disk for the next
 * process, and replaced (initdb again) when the kept file is damaged.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedCopyPath, createMemoryCluster, pristineCopy } from '@sepal/persistence';

describe('the pristine copy of an in-memory cluster', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sepal-pristine-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is kept beside the installed packages, per PGlite version', () => {
    expect(cachedCopyPath()).toMatch(/node_modules\/\.cache\/sepal\/pglite-\d+\.\d+\.\d+.*-pristine\.tar$/);
  });

  it('is made once, kept on disk, and read back by the next process', async () => {
    const path = join(dir, 'kept.tar');
    const db = await createMemoryCluster('memory://kept', path);
    try {
      expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
    const next = await pristineCopy(path);
    expect(next.readFrom).toBe(path);
    expect(next.copy.size).toBe(statSync(path).size);
  });

  it('is made again and replaced when the kept file is damaged', async () => {
    const path = join(dir, 'damaged.tar');
    writeFileSync(path, 'not a tar file');
    const db = await createMemoryCluster('memory://damaged', path);
    try {
      expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
  });
});
