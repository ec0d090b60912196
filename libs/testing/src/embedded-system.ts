import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { uniqueNamespace } from './unique-namespace';

/** What apps/sepal's `launchSystem` takes (libs never import apps: the test passes the launcher in). */
export interface EmbeddedLaunchOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  progressBars: boolean;
  trainIfNoChampion?: boolean;
  firstTrainingBudgetSeconds?: number;
}

export interface EmbeddedPorts {
  data: number;
  registry: number;
  trainer: number;
  inference: number;
  console: number;
}

export interface EmbeddedSystem<S> {
  system: S;
  namespace: string;
  modelsDir: string;
  ports: EmbeddedPorts;
  /** Closes the system and removes its models directory (embedded databases stay: closeEmbeddedDatabases). */
  close(): Promise<void>;
}

export interface EmbeddedSystemOptions {
  /** Names the namespace (uniqueNamespace(name)) and the models directory (sepal-<name>-*). */
  name: string;
  /** The repository's data/ folder (DATA_DIR). */
  dataDir: string;
  trainIfNoChampion?: boolean;
  /** The first Iris training's budget (default EMBEDDED_FIRST_TRAINING_BUDGET_S). */
  firstTrainingBudgetSeconds?: number;
  /**
   * More settings, over the defaults (in-memory SEPAL_HOME, LOG_LEVEL=error, the ports, DATA_DIR, MODELS_DIR).
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * The budget of an embedded test system's first Iris training, unless the test sets its own: the default grid's
 * families that fit 5 s (the forest and boosting), not the dense grid's 9 trials x 5 folds, so start to serving takes
 * 7.5 s instead of 24.5 s. Only that first job: the test's own jobs keep TRAIN_BUDGET_S (a budget of 5 s for them
 * skipped trials on a loaded machine).
 */
export const EMBEDDED_FIRST_TRAINING_BUDGET_S = 5;

/**
 * The embedded system (`sepal up`: every app in this process, PGlite in memory, the in-process bus) for a test, each
 * app on a free local port, quiet, without progress bars, in a fresh namespace with a temporary models directory.
 */
export async function startEmbeddedSystem<S>(
  launch: (options: EmbeddedLaunchOptions) => Promise<S & { close(): Promise<void> }>,
  options: EmbeddedSystemOptions,
): Promise<EmbeddedSystem<S & { close(): Promise<void> }>> {
  const namespace = uniqueNamespace(options.name);
  const modelsDir = await mkdtemp(join(tmpdir(), `sepal-${options.name}-`));
  // The launcher always starts the console: on a free port too, or two systems (or a user's console) collide on 8080.
  const [data, registry, trainer, inference, consolePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const ports: EmbeddedPorts = { data, registry, trainer, inference, console: consolePort };
  const removeModels = () => rm(modelsDir, { recursive: true, force: true });
  try {
    const system = await launch({
      env: {
        SEPAL_HOME: `memory://${namespace}`,
        SEPAL_NAMESPACE: namespace,
        LOG_LEVEL: 'error',
        DATA_PORT: String(data),
        REGISTRY_PORT: String(registry),
        TRAINER_PORT: String(trainer),
        INFERENCE_PORT: String(inference),
        CONSOLE_PORT: String(ports.console),
        DATA_DIR: options.dataDir,
        MODELS_DIR: modelsDir,
        ...options.env,
      },
      log: () => undefined,
      progressBars: false,
      firstTrainingBudgetSeconds: options.firstTrainingBudgetSeconds ?? EMBEDDED_FIRST_TRAINING_BUDGET_S,
      ...(options.trainIfNoChampion === undefined ? {} : { trainIfNoChampion: options.trainIfNoChampion }),
    });
    return {
      system,
      namespace,
      modelsDir,
      ports,
      close: async () => {
        await system.close();
        await removeModels();
      },
    };
  } catch (error) {
    await removeModels();
    throw error;
  }
}

/**
 * The settings of the four apps started one by one in this process (embedded adapters: PGlite in memory, the
 * in-process bus), each on its port of `ports` (data, registry, inference, trainer) on 127.0.0.1 and wired to the
 * others by URL; the gateway serves `modelName`, and no retrain starts on its own. Spread over it what a test changes.
 */
export function separateAppsEnv(options: {
  namespace: string;
  ports: Readonly<Record<string, number>>;
  dataDir: string;
  modelsDir: string;
  modelName: string;
  logLevel: string;
}): NodeJS.ProcessEnv {
  const { namespace, ports } = options;
  const url = (app: string) => `http://127.0.0.1:${ports[app]}`;
  return {
    SEPAL_HOME: `memory://${namespace}`,
    SEPAL_NAMESPACE: namespace,
    LOG_LEVEL: options.logLevel,
    DATA_PORT: String(ports.data),
    DATA_HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    FEEDBACK_COMMIT_EVERY: '0',
    REGISTRY_PORT: String(ports.registry),
    REGISTRY_HOST: '127.0.0.1',
    MODELS_DIR: options.modelsDir,
    REGISTRY_PUBLIC_URL: url('registry'),
    INFERENCE_PORT: String(ports.inference),
    INFERENCE_HOST: '127.0.0.1',
    REGISTRY_URL: url('registry'),
    MODEL_NAME: options.modelName,
    MODEL_RETRY_INTERVAL_MS: '250',
    TRAINER_PORT: String(ports.trainer),
    TRAINER_HOST: '127.0.0.1',
    DATA_URL: url('data'),
    TF_BACKEND: 'cpu',
    RETRAIN_ON_FEEDBACK: 'false',
    RETRAIN_ON_DRIFT: 'false',
    ...NO_CROSS_VALIDATION,
  };
}

/**
 * Trainer settings for a test that is not about model selection: no k-fold cross-validation of small splits, which
 * trains each Iris trial 5 more times. A test of selection leaves it out; the README tour runs the defaults.
 */
export const NO_CROSS_VALIDATION = { TRAIN_CV_MAX_ROWS: '0' } as const;
