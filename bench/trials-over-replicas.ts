/**
 * Trials over replicas: `npm run bench:train` (third part). On the real RabbitMQ and PostgreSQL (TEST_AMQP_URL,
 * TEST_POSTGRES_ADMIN_URL), with the data service and registry in this process, trains a 16-trial Iris grid with
 * TRAINER_TRIALS=queue on one trainer process, then on two (TRAINER_WORKERS=1 each), and prints the time of the
 * train-trials step and of the whole job for both, and the speed-up. Skipped (with a message) without the services.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobView } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { Topology } from '@sepal/messaging';
import { DataConfig, startDataApp } from '../apps/data/src';
import { RegistryConfig, startRegistryApp } from '../apps/registry/src';
import { freePort, runBench } from './support';
import { printSettings } from './settings';

/** 4 x 4 = 16 trials, long enough that training dominates the messaging. */
const GRID = { learningRate: [0.005, 0.01, 0.02, 0.05], hiddenUnits: [8, 16, 24, 32] };
const PARAMS = { epochs: Number(process.env.BENCH_TRIAL_EPOCHS ?? 80), earlyStoppingPatience: 0 };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database for the run (dropped at the end). */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sepal_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Removes the run's queues and exchanges from the broker. */
async function deleteNamespace(namespace: string, queues: string[]): Promise<void> {
  const topology = new Topology(namespace);
  const connection = await connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(topology.queue(queue));
      await channel.deleteQueue(topology.deadLetterQueue(queue));
    }
    // Each app's own exchange (<app>.dlx) is auto-deleted with the last queue bound to it.
    await channel.deleteExchange(topology.exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

async function startTrainer(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve(__dirname, '../apps/trainer/src/main.js')], {
    env: { ...env, TRAINER_PORT: String(port), TRAINER_HOST: '127.0.0.1', TRAINER_REPLICA_ID: name },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; tries < 300; tries++) {
    const ready = await fetch(`${url}/health/ready`).catch(() => undefined);
    if (ready?.ok) return { child, url };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`trainer ${name} did not become ready`);
}

/** How many of the job's trials each replica trained (the trainer_replica tag of its trial runs). */
async function trainedBy(registryUrl: string, jobId: string): Promise<string> {
  const filter = encodeURIComponent(`tags.job_id = '${jobId}' AND tags.role = 'trial'`);
  const page = (await (await fetch(`${registryUrl}/runs?limit=100&filter=${filter}`)).json()) as {
    runs: { tags: Record<string, string> }[];
  };
  const counts = new Map<string, number>();
  for (const run of page.runs)
    counts.set(run.tags.trainer_replica, (counts.get(run.tags.trainer_replica) ?? 0) + 1);
  return [...counts].map(([replica, count]) => `${replica} ${count}`).join(', ');
}

async function timeJob(
  trainerUrl: string,
  registryUrl: string,
): Promise<{ trials: number; job: number; by: string }> {
  const accepted = await fetch(`${trainerUrl}/train`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
    body: JSON.stringify({ dataset: 'iris', grid: GRID, params: PARAMS, modelName: 'BenchQueued' }),
  });
  const { jobId } = (await accepted.json()) as { jobId: string };
  const started = performance.now();
  for (;;) {
    const job = (await (
      await fetch(`${registryUrl}/jobs/${jobId}`)
    )
      .json()
      .catch(() => ({}))) as Partial<JobView>;
    if (job.state === 'failed' || job.state === 'cancelled')
      throw new Error(`job ${jobId} ${job.state}: ${job.error}`);
    if (job.state === 'succeeded') {
      const step = job.steps?.find((s) => s.step === 'train-trials');
      const trials =
        step?.startedAt && step.endedAt ? Date.parse(step.endedAt) - Date.parse(step.startedAt) : NaN;
      const seconds = (performance.now() - started) / 1000;
      await sleep(1000); // the trial runs' last events
      return { trials: trials / 1000, job: seconds, by: await trainedBy(registryUrl, jobId) };
    }
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const namespace = `bench_trials_${randomBytes(4).toString('hex')}`;
  const db = await createDatabase().catch((error: unknown) => {
    console.log(`trials over replicas: skipped, PostgreSQL is not reachable (${String(error)})`);
    return undefined;
  });
  if (!db) return;
  const home = mkdtempSync(join(tmpdir(), 'sepal-bench-trials-'));
  const common = {
    DATABASE_URL: db.url,
    AMQP_URL,
    SEPAL_NAMESPACE: namespace,
    SEPAL_HOME: join(home, 'state'),
    LOG_LEVEL: 'warn',
  };
  const data = await startDataApp(
    DataConfig.load({
      ...common,
      DATA_PORT: '0',
      DATA_HOST: '127.0.0.1',
      DATA_DIR: resolve(__dirname, '../../data'),
      FEEDBACK_COMMIT_EVERY: '0',
    }),
  );
  const registry = await startRegistryApp(
    RegistryConfig.load({
      ...common,
      REGISTRY_PORT: '0',
      REGISTRY_HOST: '127.0.0.1',
      MODELS_DIR: join(home, 'models'),
    }),
  );
  const dataUrl = (await data.getUrl()).replace('[::1]', '127.0.0.1');
  const registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
  await fetch(`${dataUrl}/datasets/iris/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
    body: '{}',
  });
  const overrides = { TRAINER_TRIALS: 'queue', TRAINER_WORKERS: '1', GATE_MIN_ACCURACY: '0' };
  printSettings(
    'trainers',
    { LOG_LEVEL: 'warn', FEEDBACK_COMMIT_EVERY: '0', ...overrides },
    'PostgreSQL and RabbitMQ: trials shared over replicas need the broker',
  );
  const env = {
    ...process.env,
    ...common,
    DATA_URL: dataUrl,
    REGISTRY_URL: registryUrl,
    ...overrides,
  };
  const trainers: ChildProcess[] = [];
  try {
    const first = await startTrainer('bench-1', env);
    trainers.push(first.child);
    await timeJob(first.url, registryUrl); // warm-up: both backends loaded, caches filled
    const one = await timeJob(first.url, registryUrl);
    trainers.push((await startTrainer('bench-2', env)).child);
    await sleep(2000); // the second replica's worker thread loads TensorFlow.js
    const two = await timeJob(first.url, registryUrl);
    console.log(
      `trials over replicas (TRAINER_TRIALS=queue, TRAINER_WORKERS=1 per process, real RabbitMQ): ` +
        `16-trial Iris grid, ${PARAMS.epochs} epochs each`,
    );
    console.log(
      `1 trainer process : train-trials ${one.trials.toFixed(1)} s, job ${one.job.toFixed(1)} s (trials: ${one.by})`,
    );
    console.log(
      `2 trainer processes: train-trials ${two.trials.toFixed(1)} s, job ${two.job.toFixed(1)} s (trials: ${two.by})`,
    );
    console.log(
      `speed-up ${(one.trials / two.trials).toFixed(2)}x on train-trials, ${(one.job / two.job).toFixed(2)}x on the job`,
    );
  } finally {
    for (const child of trainers) child.kill('SIGTERM');
    await sleep(1000);
    for (const child of trainers) child.kill('SIGKILL');
    await registry.close();
    await data.close();
    await closeEmbeddedDatabases();
    await db.drop();
    await deleteNamespace(namespace, [
      'trainer.jobs',
      'trainer.trials',
      'trainer.retrain-policy',
      'registry.training',
      'registry.jobs',
      'data.feedback',
    ]);
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
