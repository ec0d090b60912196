/**
 * `npm run bench:startup`: seconds from `npm start` to the first successful prediction, cold (no state: import,
 * training, promotion) and warm (state reused), plus the same for `sepal up` alone (no build step).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printSettings } from './settings';

const ROOT = join(__dirname, '../..');
const ROW = { features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function predicts(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: JSON.stringify(ROW),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function timeToFirstPrediction(command: string[], home: string, timeoutMs = 600_000): Promise<number> {
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEPAL_HOME: home,
    MODELS_DIR: join(home, 'models'),
    INFERENCE_PORT: String(ports[0]),
    DATA_PORT: String(ports[1]),
    REGISTRY_PORT: String(ports[2]),
    TRAINER_PORT: String(ports[3]),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.AMQP_URL;
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env, stdio: 'ignore', detached: false });
  try {
    const url = `http://127.0.0.1:${ports[0]}`;
    while (performance.now() - started < timeoutMs) {
      if (await predicts(url)) return (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no prediction after ${timeoutMs / 1000} s`);
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  printSettings('npm start / sepal up', { LOG_LEVEL: 'warn' });
  const home = mkdtempSync(join(tmpdir(), 'sepal-bench-startup-'));
  const upHome = mkdtempSync(join(tmpdir(), 'sepal-bench-up-'));
  try {
    const npmStart = ['npm', 'start', '--silent'];
    const up = [process.execPath, join(ROOT, 'dist/apps/sepal/src/main.js'), 'up'];
    const results = {
      npmStartCold: await timeToFirstPrediction(npmStart, home),
      npmStartWarm: await timeToFirstPrediction(npmStart, home),
      sepalUpCold: await timeToFirstPrediction(up, upHome),
      sepalUpWarm: await timeToFirstPrediction(up, upHome),
    };
    console.log('seconds from start to the first successful POST /predict (embedded mode)');
    console.log(`  npm start (build + sepal up), cold:  ${results.npmStartCold.toFixed(1)} s`);
    console.log(`  npm start (build + sepal up), warm:  ${results.npmStartWarm.toFixed(1)} s`);
    console.log(
      `  sepal up alone, cold (import, train 9 trials, promote):  ${results.sepalUpCold.toFixed(1)} s`,
    );
    console.log(`  sepal up alone, warm (state reused):  ${results.sepalUpWarm.toFixed(1)} s`);
    console.log(JSON.stringify({ bench: 'startup', ...results }));
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(upHome, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
