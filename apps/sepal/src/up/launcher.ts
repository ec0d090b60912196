import { INestApplication, Logger } from '@nestjs/common';
import { DataConfig, startDataApp } from '../../../data/src';

export interface LaunchedSystem {
  apps: { name: string; url: string; app: INestApplication }[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** Starts every app module in this process (embedded mode unless DATABASE_URL / AMQP_URL are set). */
export async function launchSystem(options: LaunchOptions): Promise<LaunchedSystem> {
  const apps: LaunchedSystem['apps'] = [];
  const close = async () => {
    for (const { app } of [...apps].reverse()) await app.close();
  };
  try {
    const dataConfig = DataConfig.load(options.env);
    const data = await startDataApp(dataConfig);
    apps.push({ name: 'data', url: await data.getUrl(), app: data });
    await ensureDatasetImported(apps[0].url, 'iris', options.log);
  } catch (error) {
    await close();
    throw error;
  }
  return { apps, close };
}

async function ensureDatasetImported(
  dataUrl: string,
  dataset: string,
  log: (line: string) => void,
): Promise<void> {
  const response = await fetch(`${dataUrl}/datasets/${dataset}/versions/latest`);
  if (response.ok) return;
  log(`Importing the shipped ${dataset} dataset...`);
  const imported = await fetch(`${dataUrl}/datasets/${dataset}/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (!imported.ok) throw new Error(`importing ${dataset} failed: ${await imported.text()}`);
  const { version } = (await imported.json()) as { version: { id: string; rowCount: number } };
  new Logger('sepal up').log(
    `imported ${dataset}: ${version.rowCount} rows, version ${version.id.slice(0, 12)}`,
  );
}
