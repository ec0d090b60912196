import { INestApplication } from '@nestjs/common';
import { ConsoleConfig, startConsoleApp } from '../../../console/src';
import { DataConfig, startDataApp } from '../../../data/src';
import { InferenceConfig, startInferenceApp } from '../../../inference/src';
import { RegistryConfig, startRegistryApp } from '../../../registry/src';
import { startTrainerApp, TrainerConfig } from '../../../trainer/src';
import { datasetVersionSchema, importDatasetResponseSchema } from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';
import { useProcessWideServiceName } from '@sepal/observability';
import { serviceClient } from '../client/service-client';
import { follow, summary, trainingFailure } from '../train/follow-training';

export interface LaunchedApp {
  name: 'data' | 'registry' | 'trainer' | 'inference' | 'console';
  url: string;
  app: INestApplication;
}

export interface LaunchedSystem {
  apps: LaunchedApp[];
  modelName: string;
  close(): Promise<void>;
}

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Draw progress bars while the first model trains (a terminal), or print plain lines. */
  progressBars: boolean;
  /** Train the first model on start when there is no champion (default true). */
  trainIfNoChampion?: boolean;
  /** That first training's budget in seconds (the request's budgetSeconds); TRAIN_BUDGET_S when not given. */
  firstTrainingBudgetSeconds?: number;
}

const local = (port: number) => `http://127.0.0.1:${port}`;

/**
 * `sepal up`: every app module in this process (embedded PGlite + in-process bus unless DATABASE_URL / AMQP_URL are
 * set), then the first-start work: import the shipped Iris data and, while no champion exists, train and promote one.
 */
export async function launchSystem(options: LaunchOptions): Promise<LaunchedSystem> {
  const { env, log } = options;
  useProcessWideServiceName('sepal');
  const data = DataConfig.load(env);
  const registry = RegistryConfig.load(env);
  const trainer = TrainerConfig.load(env);
  const inference = InferenceConfig.load(env);
  const consoleApp = ConsoleConfig.load(env);
  // Every app reaches the others on this machine unless told otherwise.
  const wiring: NodeJS.ProcessEnv = {
    DATA_URL: local(data.DATA_PORT),
    REGISTRY_URL: local(registry.REGISTRY_PORT),
    REGISTRY_PUBLIC_URL: local(registry.REGISTRY_PORT),
    TRAINER_URL: local(trainer.TRAINER_PORT),
    INFERENCE_URL: local(inference.INFERENCE_PORT),
    ...env,
  };
  const apps: LaunchedApp[] = [];
  const close = async () => {
    for (const { app } of [...apps].reverse()) await app.close();
  };
  try {
    apps.push({ name: 'data', url: local(data.DATA_PORT), app: await startDataApp(DataConfig.load(wiring)) });
    apps.push({
      name: 'registry',
      url: local(registry.REGISTRY_PORT),
      app: await startRegistryApp(RegistryConfig.load(wiring)),
    });
    apps.push({
      name: 'trainer',
      url: local(trainer.TRAINER_PORT),
      app: await startTrainerApp(TrainerConfig.load(wiring)),
    });
    apps.push({
      name: 'inference',
      url: local(inference.INFERENCE_PORT),
      app: await startInferenceApp(InferenceConfig.load(wiring)),
    });
    // The web console (its own port, 8080 by default): open it to watch the first start's training too.
    apps.push({
      name: 'console',
      url: local(consoleApp.CONSOLE_PORT),
      app: await startConsoleApp(ConsoleConfig.load(wiring)),
    });
    log(`Console at ${local(consoleApp.CONSOLE_PORT).replace('127.0.0.1', 'localhost')}`);
    const urls = Object.fromEntries(apps.map((a) => [a.name, a.url])) as Record<LaunchedApp['name'], string>;
    await ensureDatasetImported(serviceClient({ urls, apiKey: env.SEPAL_API_KEY }, 'data'), log);
    const champion =
      options.trainIfNoChampion !== false ||
      (await hasChampion(
        serviceClient({ urls, apiKey: env.SEPAL_API_KEY }, 'registry'),
        inference.MODEL_NAME,
      ));
    if (options.trainIfNoChampion !== false) {
      await ensureChampion(urls, inference.MODEL_NAME, env.SEPAL_API_KEY, options);
    }
    // With --no-train and no champion yet there is nothing to wait for: the gateway loads one when it is promoted.
    if (champion)
      await waitUntilServing(serviceClient({ urls, apiKey: env.SEPAL_API_KEY }, 'inference'), 120_000);
  } catch (error) {
    await close();
    throw error;
  }
  return { apps, modelName: inference.MODEL_NAME, close };
}

async function ensureDatasetImported(data: ServiceClient, log: (line: string) => void): Promise<void> {
  try {
    await data.get('/datasets/iris/versions/latest', { schema: datasetVersionSchema });
    return;
  } catch (error) {
    if (!(error instanceof ServiceCallError) || error.status !== 404) throw error;
  }
  log('Importing the shipped Iris dataset (data/iris/iris.data)...');
  const { version } = await data.post('/datasets/iris/import', undefined, {
    schema: importDatasetResponseSchema,
  });
  log(
    `  version ${version.id.slice(0, 12)}: ${version.rowCount} rows (train ${version.trainRows}, test ${version.testRows})`,
  );
}

async function ensureChampion(
  urls: Record<LaunchedApp['name'], string>,
  modelName: string,
  apiKey: string | undefined,
  options: LaunchOptions,
): Promise<void> {
  const registry = serviceClient({ urls, apiKey }, 'registry');
  try {
    const champion = await registry.get<{ version: number }>(
      `/models/${encodeURIComponent(modelName)}/aliases/champion`,
    );
    options.log(`Serving ${modelName} v${champion.version} (the champion).`);
    return;
  } catch (error) {
    if (!(error instanceof ServiceCallError) || error.status !== 404) throw error;
  }
  options.log(`No champion of ${modelName} yet: training on Iris with the default grid...`);
  const trainer = serviceClient({ urls, apiKey }, 'trainer');
  const accepted = await trainer.post<{ jobId: string; correlationId: string }>('/train', {
    dataset: 'iris',
    modelName,
    ...(options.firstTrainingBudgetSeconds === undefined
      ? {}
      : { budgetSeconds: options.firstTrainingBudgetSeconds }),
  });
  const followed = await follow(registry, accepted, {
    timeoutMs: 30 * 60_000,
    bars: options.progressBars,
    log: options.log,
  });
  options.log(summary(followed));
  const failure = trainingFailure(followed);
  if (failure) throw new Error(`the first start's ${failure}`);
}

async function hasChampion(registry: ServiceClient, modelName: string): Promise<boolean> {
  try {
    await registry.get(`/models/${encodeURIComponent(modelName)}/aliases/champion`);
    return true;
  } catch (error) {
    if (error instanceof ServiceCallError && error.status === 404) return false;
    throw error;
  }
}

/** Polls the gateway's readiness (503 until its models are loaded) until it answers 200. */
async function waitUntilServing(inference: ServiceClient, timeoutMs: number): Promise<void> {
  try {
    await inference.text('/health/ready', {
      timeoutMs: 5_000,
      retry: { forMs: timeoutMs, initialDelayMs: 250, maxDelayMs: 1_000 },
    });
  } catch (error) {
    if (!(error instanceof ServiceCallError)) throw error;
    throw new Error(
      `the gateway at ${inference.url('/')} is not ready after ${timeoutMs / 1000} s (${error.message})`,
    );
  }
}
