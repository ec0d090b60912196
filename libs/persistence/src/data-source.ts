import { DataSource, DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { DatabaseTarget } from './database-target';
import { openEmbeddedDatabase } from './embedded-database';
import { pgliteDriverModule } from './pglite-pool';

export interface AppDataSourceOptions {
  target: DatabaseTarget;
  /** The app's own schema: its tables and its migrations table live there. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  applicationName?: string;
}

async function connectionOptions(options: AppDataSourceOptions): Promise<DataSourceOptions> {
  const common = {
    type: 'postgres' as const,
    schema: options.schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    applicationName: options.applicationName,
  };
  if (options.target.kind === 'postgres') return { ...common, url: options.target.url, poolSize: 10 };
  const pglite = await openEmbeddedDatabase(options.target.dataDir);
  return { ...common, driver: pgliteDriverModule, extra: { pglite } };
}

/** Connects, creates the app's schema if needed and applies pending migrations (never `synchronize`). */
export async function createAppDataSource(options: AppDataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource(await connectionOptions(options));
  await dataSource.initialize();
  try {
    await ensureSchema(dataSource, options.schema);
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

/**
 * Creates the app's schema unless it exists. In the distributed mode the schema is provisioned beforehand, owned by
 * the app's role, and that role may not create schemas (`CREATE SCHEMA IF NOT EXISTS` checks the database's CREATE
 * privilege even when the schema exists), so the existence check comes first.
 */
async function ensureSchema(dataSource: DataSource, schema: string): Promise<void> {
  const rows: unknown[] = await dataSource.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (rows.length === 0) await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
}
