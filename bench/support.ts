/** What the embedded-system benchmarks share: free ports, `sepal up` in this process, wrk runs and the entry point. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { launchSystem, type LaunchedSystem } from '../apps/sepal/src';
import { printSettings } from './settings';

/** A TCP port on 127.0.0.1 nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface BenchPorts {
  data: number;
  registry: number;
  trainer: number;
  inference: number;
}

/**
 * The embedded system (`sepal up`: every app in this process, trials in worker threads) with its state and models in
 * `home`, each app on a free port, quiet (LOG_LEVEL=warn, no progress bars), otherwise the defaults of `npm start`;
 * `env` adds to or overrides the settings. Prints the settings changed.
 */
export async function launchBenchSystem(
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<{ system: LaunchedSystem; ports: BenchPorts }> {
  const [data, registry, trainer, inference, consolePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  printSettings('sepal up', { LOG_LEVEL: 'warn', ...env }, 'progress bars off');
  const system = await launchSystem({
    env: {
      ...process.env,
      SEPAL_HOME: join(home, 'state'),
      MODELS_DIR: join(home, 'models'),
      DATA_DIR: resolve(__dirname, '../../data'),
      LOG_LEVEL: 'warn',
      DATA_PORT: String(data),
      REGISTRY_PORT: String(registry),
      TRAINER_PORT: String(trainer),
      INFERENCE_PORT: String(inference),
      CONSOLE_PORT: String(consolePort),
      ...env,
    },
    log: () => undefined,
    progressBars: false,
  });
  return { system, ports: { data, registry, trainer, inference } };
}

/** A wrk script in `home` POSTing one Iris row (named features) as JSON: single-row /predict, with `apiKey` if given. */
export function irisPredictScript(home: string, apiKey?: string): string {
  const script = join(home, 'predict.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n` +
      (apiKey ? `wrk.headers["x-api-key"] = ${JSON.stringify(apiKey)}\n` : '') +
      `wrk.body = '{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}}'\n`,
  );
  return script;
}

export interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
}

/** wrk -t2 with `connections` for `seconds` (its own process), figures read from its text output. */
export function wrk(
  url: string,
  script: string,
  options: { seconds: number; connections: number; timeout?: string },
): Promise<WrkResult> {
  const args = [
    '-t2',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    ...(options.timeout === undefined ? [] : ['--timeout', options.timeout]),
    '-s',
    script,
    url,
  ];
  return new Promise((done, fail) => {
    const child = spawn('wrk', args);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('close', () => {
      const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? 0);
      const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const scale = p99 ? { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'] : 0;
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      done({
        requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
        p99Ms: p99 ? Number(p99[1]) * scale : NaN,
        non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
        socketErrors: errors ? Number(errors[1]) + Number(errors[2]) + Number(errors[3]) : 0,
        timeouts: errors ? Number(errors[4]) : 0,
      });
    });
  });
}

/** Runs a benchmark's main: exit 0 when it ends, else the error (its stack when `stack`) and exit 1. */
export function runBench(main: () => Promise<void>, options: { stack?: boolean } = {}): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(options.stack || !(error instanceof Error) ? error : error.message);
      process.exit(1);
    },
  );
}
