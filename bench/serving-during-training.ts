/**
 * Serving while training: `npm run bench:train` (second part). Starts the embedded system (`sepal up`: every app in
 * this process, trials in worker threads), drives `POST /predict` with wrk at c=16 from its own process, first idle,
 * then while a retrain of Iris runs, and prints req/s, p99, errors and timeouts of both and their ratio (target ≥ 0.7,
 * with 0 failed or timed-out requests).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchSystem } from '../apps/sepal/src';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;

interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function wrk(url: string, script: string): Promise<WrkResult> {
  const args = [
    '-t2',
    `-c${CONNECTIONS}`,
    `-d${SECONDS}s`,
    '--latency',
    '--timeout',
    '2s',
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

const line = (label: string, r: WrkResult) =>
  `${label.padEnd(22)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${r.p99Ms.toFixed(1).padStart(6)} ms  ` +
  `non-2xx ${r.non2xx}  socket errors ${r.socketErrors}  timeouts ${r.timeouts}`;

async function main(): Promise<void> {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('wrk is not installed: apt-get install wrk (scripts/ensure-test-tools.sh does)');
    }
  }
  const home = mkdtempSync(join(tmpdir(), 'sepal-bench-serving-'));
  const [data, registry, trainer, inference] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
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
      DRIFT_PSI_THRESHOLD: '0',
    },
    log: () => undefined,
    progressBars: false,
  });
  const script = join(home, 'predict.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n` +
      `wrk.body = '{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}}'\n`,
  );
  const predictUrl = `http://127.0.0.1:${inference}/predict`;
  try {
    await wrk(predictUrl, script); // warm-up
    const idle = await wrk(predictUrl, script);
    // A retrain longer than the measurement: the default grid with more epochs and no early stopping.
    const accepted = await fetch(`http://127.0.0.1:${trainer}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'iris', params: { epochs: 400, earlyStoppingPatience: 0 } }),
    });
    const { jobId } = (await accepted.json()) as { jobId: string };
    const jobUrl = `http://127.0.0.1:${registry}/jobs/${jobId}`;
    for (;;) {
      const job = (await (await fetch(jobUrl)).json().catch(() => ({}))) as {
        steps?: { step: string; state: string }[];
      };
      if (job.steps?.some((s) => s.step === 'train-trials' && s.state === 'running')) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    const training = await wrk(predictUrl, script);
    const after = (await (await fetch(jobUrl)).json()) as { steps: { step: string; state: string }[] };
    const stillTraining = after.steps.find((s) => s.step === 'train-trials')?.state === 'running';
    console.log(`POST /predict, wrk -c${CONNECTIONS} for ${SECONDS} s (its own process), embedded mode:`);
    console.log(line('idle', idle));
    console.log(line('during a retrain', training));
    console.log(
      `ratio ${(training.requestsPerSecond / idle.requestsPerSecond).toFixed(2)} (target ≥ 0.7); ` +
        `the retrain was ${stillTraining ? 'still training trials' : 'past its trials'} when the measurement ended`,
    );
    await fetch(jobUrl, { method: 'DELETE' });
  } finally {
    await system.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
