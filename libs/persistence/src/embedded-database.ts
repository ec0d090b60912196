import { mkdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { AsyncMutex } from './async-mutex';
import { SharedPGlite } from './pglite-pool';

const instances = new Map<string, Promise<SharedPGlite>>();
/** The pristine copies this process holds, by the file they are kept in ('' when none). */
const pristineCopies = new Map<string, Promise<PristineCopy>>();

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
 * costs about 3 s of CPU per cluster, loading the copy about a sixth of that. The copy is made once per process and
 * kept on disk beside the installed packages (node_modules/.cache/sepal, per PGlite version), so the next process (the
 * next test file, the next `sepal up` with memory://) skips initdb too. A directory is initialised in place once.
 */
async function createCluster(key: string): Promise<PGlite> {
  if (!key.startsWith('memory://')) {
    mkdirSync(key, { recursive: true });
    return PGlite.create(key);
  }
  return createMemoryCluster(key, cachedCopyPath());
}

/** An in-memory cluster from the pristine copy kept at `copyPath` (made and kept there if missing; exported for tests). */
export async function createMemoryCluster(key: string, copyPath: string | null): Promise<PGlite> {
  const slot = copyPath ?? '';
  let held = pristineCopies.get(slot);
  if (!held) {
    held = pristineCopy(copyPath);
    pristineCopies.set(slot, held);
  }
  const pristine = await held;
  try {
    return await PGlite.create(key, { loadDataDir: pristine.copy });
  } catch (error) {
    // A damaged copy on disk (a full disk, a file written by another PGlite build): remove it and run initdb here.
    if (pristine.readFrom === null) throw error;
    await rm(pristine.readFrom, { force: true }).catch(() => undefined);
    const made = pristineCopy(copyPath, { ignoreKept: true });
    pristineCopies.set(slot, made);
    return PGlite.create(key, { loadDataDir: (await made).copy });
  }
}

export interface PristineCopy {
  copy: Blob;
  /** The file the copy was read from, null if it was made in this process. */
  readFrom: string | null;
}

/** Where the pristine copy of this PGlite build is kept; null when the package's folder cannot be found. */
export function cachedCopyPath(): string | null {
  try {
    const packageDir = dirname(dirname(require.resolve('@electric-sql/pglite'))); // <pkg>/dist/index.cjs
    const nodeModules = dirname(dirname(packageDir)); // <node_modules>/@electric-sql/pglite
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    return join(nodeModules, '.cache', 'sepal', `pglite-${version}-pristine.tar`);
  } catch {
    return null;
  }
}

/** The copy kept at `path` if there is one, else a new one (kept there for the next process, best effort). */
export async function pristineCopy(
  path: string | null,
  options: { ignoreKept?: boolean } = {},
): Promise<PristineCopy> {
  const bytes = path === null || options.ignoreKept ? null : await readFile(path).catch(() => null);
  if (bytes !== null && bytes.length > 0) return { copy: new Blob([bytes]), readFrom: path };
  const db = await PGlite.create('memory://');
  const copy = await db.dumpDataDir('none');
  await db.close();
  if (path !== null) await keepCopy(path, copy);
  return { copy, readFrom: null };
}

/** Writes the copy under a temporary name and renames it, so a reader never sees half a file. */
async function keepCopy(path: string, copy: Blob): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(partial, Buffer.from(await copy.arrayBuffer()));
    await rename(partial, path);
  } catch {
    await rm(partial, { force: true }).catch(() => undefined);
  }
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
