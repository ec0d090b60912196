/**
 * What the prediction log costs the gateway: `npm run bench:prediction-log` (env BENCH_SECONDS per run, default 3;
 * BENCH_ROUNDS, default 5).
 *
 * Two gateways as `npm start` runs them (embedded bus), one Iris-shaped model, POST /predict with one row from wrk at
 * c=64: PREDICTION_LOG_SAMPLE=0 (off) and =BENCH_LOG_SAMPLE (default 1: every request logged), measured alternately round after round; the
 * median round is printed with the ratio, and the log's shipped and dropped rows. The gateways share this process and
 * only the measured one is busy. The data service, which stores the log, is not in this process: what is measured is
 * the gateway's side (ids, sampling, the copy into the queue, building and publishing the batches).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  BenchModel,
  counterValue,
  IRIS_FEATURES,
  IRIS_ROW_BODY,
  miniRegistry,
  runWrk,
  servingChampion,
  startBenchGateway,
  WrkFigures,
  wrkScript,
} from './inference-support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 64;
/** The sample rate of the logging gateway: BENCH_LOG_SAMPLE, else 1 (every request). */
const SAMPLE = process.env.BENCH_LOG_SAMPLE ?? '1';

async function gateway(registryUrl: string, sample: string): Promise<NestFastifyApplication> {
  const app = await startBenchGateway(registryUrl, `bench_log_${sample.replace('.', '_')}_${process.pid}`, {
    PREDICTION_LOG_SAMPLE: sample,
  });
  await servingChampion(app);
  return app;
}

interface Measured extends WrkFigures {
  /** CPU time of this process per request while wrk ran (only the measured gateway is busy). */
  cpuUs: number;
}

async function measure(url: string, script: string): Promise<Measured> {
  const before = process.cpuUsage();
  const figures = await runWrk(url, script, CONNECTIONS, SECONDS);
  const used = process.cpuUsage(before);
  return { ...figures, cpuUs: (used.user + used.system) / Math.max(1, figures.requests) };
}

async function main(): Promise<void> {
  console.log(
    `prediction log benchmark: POST /predict (1 row), c=${CONNECTIONS}, ${SECONDS}s x ${ROUNDS} rounds; settings changed from npm start: PREDICTION_LOG_SAMPLE=0 vs ${SAMPLE}, PREDICT_RATE_PER_KEY=1000000 (one wrk address)`,
  );
  const { server, url: registryUrl } = await miniRegistry([
    new BenchModel(BenchModel.nameOf(1), IRIS_FEATURES, 1),
  ]);
  const off = await gateway(registryUrl, '0');
  const on = await gateway(registryUrl, SAMPLE);
  const script = wrkScript(mkdtempSync(join(tmpdir(), 'sepal-bench-log-')), 'predict', IRIS_ROW_BODY);
  const url = async (app: NestFastifyApplication) =>
    `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/predict`;
  const rounds: { off: Measured; on: Measured }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const a = await measure(await url(off), script);
    const b = await measure(await url(on), script);
    rounds.push({ off: a, on: b });
    console.log(
      `round ${round + 1}: off ${a.rps.toFixed(0)} req/s ${a.cpuUs.toFixed(1)} us CPU/req, on ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(1)} us CPU/req`,
    );
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
  const offRps = median(rounds.map((r) => r.off.rps));
  const onRps = median(rounds.map((r) => r.on.rps));
  const p99 = (side: 'off' | 'on') => median(rounds.map((r) => r[side].p99));
  const errors = rounds.reduce((sum, r) => sum + r.on.errors + r.on.non2xx + r.off.errors + r.off.non2xx, 0);
  const cpu = (side: 'off' | 'on') => median(rounds.map((r) => r[side].cpuUs));
  console.log(
    `log off (sample 0): ${offRps.toFixed(0)} req/s, p99 ${p99('off').toFixed(2)} ms, ${cpu('off').toFixed(1)} us CPU/req`,
  );
  console.log(
    `log on  (sample ${SAMPLE}): ${onRps.toFixed(0)} req/s, p99 ${p99('on').toFixed(2)} ms, ${cpu('on').toFixed(1)} us CPU/req`,
  );
  // On a shared machine req/s swings with the cores given; CPU per request does not, and its ratio is what the
  // throughputs' ratio is once the gateway is CPU-bound.
  console.log(
    `cost of logging at sample ${SAMPLE}: req/s x${(onRps / offRps).toFixed(3)}; CPU per request x${(cpu('on') / cpu('off')).toFixed(3)} (${((cpu('on') / cpu('off') - 1) * 100).toFixed(1)}% more CPU, i.e. ${((1 - cpu('off') / cpu('on')) * 100).toFixed(1)}% less throughput when CPU-bound)`,
  );
  console.log(
    `log rows shipped ${await counterValue(on, 'sepal_prediction_log_shipped_rows_total')}, dropped queue_full ${await counterValue(on, 'sepal_prediction_log_dropped_rows_total', { reason: 'queue_full' })}, dropped bus ${await counterValue(on, 'sepal_prediction_log_dropped_rows_total', { reason: 'bus' })}; failed requests ${errors}`,
  );
  await off.close();
  await on.close();
  server.close();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
