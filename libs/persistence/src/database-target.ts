import { join } from 'node:path';

export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'embedded'; dataDir: string };

/** DATABASE_URL selects PostgreSQL; without it the embedded PGlite under SEPAL_HOME is used. */
export function resolveDatabaseTarget(databaseUrl: string | undefined, sepalHome: string): DatabaseTarget {
  if (databaseUrl) return { kind: 'postgres', url: databaseUrl };
  return {
    kind: 'embedded',
    dataDir: sepalHome.startsWith('memory://') ? sepalHome : join(sepalHome, 'pgdata'),
  };
}

export function describeDatabaseTarget(target: DatabaseTarget): string {
  if (target.kind === 'embedded') return `embedded PGlite at ${target.dataDir}`;
  const url = new URL(target.url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}
