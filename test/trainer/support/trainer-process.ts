import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AMQP_URL, Services } from './services';

/** A trainer replica in its own Node process (the built app), named by TRAINER_REPLICA_ID. */
export interface TrainerProcess {
  name: string;
  process: ChildProcess;
  url: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** Starts the build's trainer against the test's data service, registry and broker namespace. */
export function startTrainerProcess(
  name: string,
  services: Services,
  namespace: string,
  env: Record<string, string> = {},
): Promise<TrainerProcess> {
  return new Promise<TrainerProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'trainer-worker.js')], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        AMQP_URL,
        SEPAL_NAMESPACE: namespace,
        DATA_URL: services.dataUrl,
        REGISTRY_URL: services.registryUrl,
        TRAINER_PORT: '0',
        TRAINER_HOST: '127.0.0.1',
        TRAINER_REPLICA_ID: name,
        LOG_LEVEL: 'warn',
        TF_BACKEND: 'cpu',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) resolve({ name, process: child, url: ready[1], exited });
    });
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`));
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before it was ready: ${output}`)),
    );
  });
}
