/**
 * The prediction log through a PostgreSQL outage: `npm run bench:prediction-log-outage` (BENCH_SECONDS of load,
 * default 20; the outage starts BENCH_OUTAGE_FROM_S, default 5, into it and lasts BENCH_OUTAGE_S, default 6).
 *
 * As `npm start` runs them (one process, the in-process bus), but with the data service storing the log in a database
 * of its own on the machine's PostgreSQL, as the distributed mode does: a gateway logging every request (sample 1)
 * and the data service. wrk (one thread, its own process) sends one Iris row at c=64 while this bench stops the
 * cluster (`pg_ctlcluster <version> main stop -m fast`) and starts it again. Then it waits for the log to catch up
 * and prints the failed predictions, the rows the gateway shipped and dropped, the rows stored and the events
 * dead-lettered. It stops the machine's PostgreSQL for a few seconds: run it alone, never beside the tests.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { EventBus } from '@sepal/messaging';
import { createTestDatabase } from '@sepal/testing';
import { DataConfig, startDataApp } from '../apps/data/src';
import { PredictionLog } from '../apps/inference/src';
import {
  BenchModel,
  counterValue,
  IRIS_FEATURES,
  IRIS_ROW_BODY,
  miniRegistry,
  runWrk,
  servingChampion,
  startBenchGateway,
  wrkScript,
} from './inference-support';
import { printSettings } from './settings';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const OUTAGE_FROM_S = Number(process.env.BENCH_OUTAGE_FROM_S ?? 5);
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 6);
const CATCH_UP_LIMIT_MS = 180_000;

/** The machine's PostgreSQL cluster, as `pg_ctlcluster` names it (BENCH_PG_CLUSTER="16 main" to choose). */
function cluster(): [string, string] {
  const [version, name] = (process.env.BENCH_PG_CLUSTER ?? `${readdirSync('/etc/postgresql')[0]} main`).split(
    ' ',
  );
  return [version, name];
}

/** Stops or starts the cluster in a child process (the gateway's event loop goes on serving meanwhile). */
async function pgctl(action: 'start' | 'stop'): Promise<void> {
  const [version, name] = cluster();
  const args = ['--skip-systemctl-redirect', version, name, action];
  if (action === 'stop') args.push('--', '-m', 'fast');
  await promisify(execFile)('pg_ctlcluster', args);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function storedRows(url: string): Promise<number | null> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM data.prediction_log');
    return Number(rows[0].n);
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  console.log(
    `prediction log through a PostgreSQL outage: POST /predict (1 row), c=64 for ${SECONDS}s, PostgreSQL (cluster ${cluster().join(' ')}) stopped from ${OUTAGE_FROM_S}s for ${OUTAGE_S}s`,
  );
  const db = await createTestDatabase('sepal_bench_outage');
  const namespace = `bench_outage_${process.pid}`;
  const { server, url: registryUrl } = await miniRegistry([
    new BenchModel(BenchModel.nameOf(1), IRIS_FEATURES, 1),
  ]);
  const dataSettings = { DATABASE_URL: db.url, LOG_LEVEL: 'error' };
  printSettings('data', dataSettings, 'the data service on PostgreSQL, as in the distributed mode');
  const data = await startDataApp(
    DataConfig.load({
      ...process.env,
      ...dataSettings,
      AMQP_URL: undefined,
      SEPAL_NAMESPACE: namespace,
      SEPAL_HOME: mkdtempSync(join(tmpdir(), 'sepal-bench-outage-')),
    }),
    { listen: false },
  );
  const gateway = await startBenchGateway(registryUrl, namespace, {
    PREDICTION_LOG_SAMPLE: '1',
    LOG_LEVEL: 'error',
  });
  await servingChampion(gateway);
  const script = wrkScript(mkdtempSync(join(tmpdir(), 'sepal-bench-outage-')), 'predict', IRIS_ROW_BODY);
  const url = `${(await gateway.getUrl()).replace('[::1]', '127.0.0.1')}/predict`;

  let restarted = false;
  try {
    const load = runWrk(url, script, 64, SECONDS);
    await sleep(OUTAGE_FROM_S * 1000);
    const stopped = Date.now();
    await pgctl('stop');
    console.log(`PostgreSQL stopped at ${OUTAGE_FROM_S}s`);
    await sleep(OUTAGE_S * 1000);
    await pgctl('start');
    restarted = true;
    console.log(`PostgreSQL started again after ${((Date.now() - stopped) / 1000).toFixed(1)}s`);
    const figures = await load;
    await gateway.get(PredictionLog).flush();
    const shipped = await counterValue(gateway, 'sepal_prediction_log_shipped_rows_total');
    const droppedFull = await counterValue(gateway, 'sepal_prediction_log_dropped_rows_total', {
      reason: 'queue_full',
    });
    const droppedBus = await counterValue(gateway, 'sepal_prediction_log_dropped_rows_total', {
      reason: 'bus',
    });
    const bus = data.get(EventBus);
    // Caught up: every shipped row stored or its event dead-lettered, or nothing has changed for 10 s.
    const started = Date.now();
    let stored = 0;
    let deadLettered = 0;
    let lastChange = Date.now();
    while (Date.now() - started < CATCH_UP_LIMIT_MS) {
      const now = (await storedRows(db.url)) ?? stored;
      deadLettered = await bus.deadLetterCount('data.predictions');
      if (now !== stored) lastChange = Date.now();
      stored = now;
      if (stored >= shipped || Date.now() - lastChange > 10_000) break;
      await sleep(500);
    }
    console.log(
      `predictions: ${figures.requests} answered, ${figures.non2xx} non-2xx, ${figures.errors} socket errors, ${figures.rps.toFixed(0)} req/s, p99 ${figures.p99.toFixed(2)} ms`,
    );
    console.log(
      `log: ${shipped} rows shipped by the gateway, dropped ${droppedFull} (queue full) and ${droppedBus} (bus); ${stored} rows stored ${((Date.now() - started) / 1000).toFixed(1)}s after the load ended; ${deadLettered} predictions.logged events dead-lettered; ${shipped - stored} shipped rows not stored`,
    );
  } finally {
    if (!restarted) await pgctl('start');
    await gateway.close();
    await data.close();
    server.close();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
