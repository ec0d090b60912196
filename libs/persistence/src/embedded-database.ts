import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { AsyncMutex } from './async-mutex';
import { SharedPGlite } from './pglite-pool';

const instances = new Map<string, Promise<SharedPGlite>>();
let pristineCluster: Promise<Blob> | undefined;

/**
 * The process-wide embedded database stored in `dataDir` ('memory://' keeps it in memory). Every app of the
 * embedded mode opens it through here, so they share one PGlite and one session lock.
 */
export function openEmbeddedDatabase(dataDir: string): Promise<SharedPGlite> {
  const key = dataDir.startsWith('memory://') ? dataDir : resolve(dataDir);
  let instance = instances.get(key);
  if (!instance) {
    instance = createCluster(key).then((db) => ({ db, session: new AsyncMutex() }));
    instances.set(key, instance);
  }
  return instance;
}

/**
 * A new in-memory cluster starts from a copy of a pristine one (as `createdb` copies template1): PGlite's initdb
 * costs 5-6 s of CPU per cluster, loading the copy about a fifth of that, and a process (a test file, `sepal up`
 * with memory://) that opens several in-memory databases pays initdb once. A directory is initialised in place once.
 */
async function createCluster(key: string): Promise<PGlite> {
  if (!key.startsWith('memory://')) {
    mkdirSync(key, { recursive: true });
    return PGlite.create(key);
  }
  pristineCluster ??= PGlite.create('memory://').then(async (db) => {
    const copy = await db.dumpDataDir('none');
    await db.close();
    return copy;
  });
  return PGlite.create(key, { loadDataDir: await pristineCluster });
}

export async function closeEmbeddedDatabases(): Promise<void> {
  const open = [...instances.values()];
  instances.clear();
  for (const instance of open) {
    const { db, session } = await instance;
    const release = await session.acquire();
    await db.close();
    release();
  }
}
