import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { AsyncMutex } from './async-mutex';
import { SharedPGlite } from './pglite-pool';

const instances = new Map<string, Promise<SharedPGlite>>();

/**
 * The process-wide embedded database stored in `dataDir` ('memory://' keeps it in memory). Every app of the
 * embedded mode opens it through here, so they share one PGlite and one session lock.
 */
export function openEmbeddedDatabase(dataDir: string): Promise<SharedPGlite> {
  const key = dataDir.startsWith('memory://') ? dataDir : resolve(dataDir);
  let instance = instances.get(key);
  if (!instance) {
    if (!key.startsWith('memory://')) mkdirSync(key, { recursive: true });
    instance = PGlite.create(key).then((db) => ({ db, session: new AsyncMutex() }));
    instances.set(key, instance);
  }
  return instance;
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
