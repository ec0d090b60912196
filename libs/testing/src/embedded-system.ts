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
}

export interface EmbeddedPorts {
  data: number;
  registry: number;
  trainer: number;
  inference: number;
  /** Only when the console was asked for. */
  console?: number;
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
  /** Also a console on its own port (CONSOLE_PORT). */
  withConsole?: boolean;
  trainIfNoChampion?: boolean;
  /** More settings, over the defaults (in-memory SEPAL_HOME, LOG_LEVEL=error, the ports, DATA_DIR, MODELS_DIR). */
  env?: NodeJS.ProcessEnv;
}

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
  const [data, registry, trainer, inference] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const ports: EmbeddedPorts = { data, registry, trainer, inference };
  if (options.withConsole) ports.console = await freePort();
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
        ...(ports.console === undefined ? {} : { CONSOLE_PORT: String(ports.console) }),
        DATA_DIR: options.dataDir,
        MODELS_DIR: modelsDir,
        ...options.env,
      },
      log: () => undefined,
      progressBars: false,
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
