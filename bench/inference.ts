/**
 * Inference benchmark: `npm run bench:inference` (env BENCH_SECONDS per run, default 3; BENCH_ROUNDS, default 3;
 * BENCH_MODELS, default 20).
 *
 * The load generator is wrk (/usr/bin/wrk), a separate process, one thread. In one run, each at c=1, 16 and 64:
 *   - a bare node:http server reading, parsing and answering the same JSON body (the baseline),
 *   - a bare Fastify POST route doing the same,
 *   - Sepal's POST /predict with one model loaded, keys off (the defaults of `npm start`),
 *   - the same with keys on (SEPAL_API_KEY set, requests sent with a `predict` key),
 *   - Sepal's POST /predict/{model} with BENCH_MODELS models loaded, requests spread over them by a wrk Lua script,
 * then Sepal's /predict through Fastify (PREDICT_FAST_PATH=false) at c=64 to show what the lean body path saves, the
 * many-model mix with stacking off (PREDICT_STACKING=false: one ONNX run per model in each batch) at c=64, and
 * a 512-row batch request in rows/s. Printed: req/s, p50, p99, errors, and the ratios to bare node:http; every
 * gateway's settings changed from the defaults of `npm start`; the machine's load average before and after.
 * Every server stays up; each is measured alone, round after round, and the median round is reported. Beside each
 * figure: the CPU time this process spent per request while wrk ran (all servers live in it, only the measured one
 * is busy). On a machine shared with other work, req/s swings with the cores the server is given; CPU per request
 * does not, and the ratio of two servers' CPU per request is what their throughputs' ratio is once CPU-bound.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { ModelManager, ModelStacks } from '../apps/inference/src';
import {
  BenchModel,
  IRIS_FEATURES,
  miniRegistry,
  runWrk,
  startBenchGateway,
  WrkFigures,
  wrkScript,
} from './inference-support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODELS = Number(process.env.BENCH_MODELS ?? 20);
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const BODY = JSON.stringify({ features: ROW });
const BATCH_ROWS = 512;
const BATCH = JSON.stringify({
  instances: Array.from({ length: BATCH_ROWS }, (_, i) => [
    4.3 + (i % 36) / 10,
    3.0,
    1 + (i % 60) / 10,
    0.1 + (i % 25) / 10,
  ]),
});
const CONCURRENCY = [1, 16, 64];

/** wrk's figures and the CPU time this process spent per request (microseconds). */
type Figures = WrkFigures & { cpuUs: number };

async function measure(url: string, script: string, connections: number, seconds: number): Promise<Figures> {
  const before = process.cpuUsage();
  const figures = await runWrk(url, script, connections, seconds);
  const used = process.cpuUsage(before);
  return { ...figures, cpuUs: (used.user + used.system) / Math.max(1, figures.requests) };
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

function bareNodeServer(): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
}

async function gateway(
  registryUrl: string,
  env: Record<string, string>,
  label: string,
): Promise<NestFastifyApplication> {
  const app = await startBenchGateway(
    registryUrl,
    `bench_${process.pid}_${Date.now().toString(36)}`,
    { MODEL_RETRY_INTERVAL_MS: '100', ...env },
    label,
  );
  const manager = app.get(ModelManager);
  const wanted = env.SERVE_MODELS === '*' ? MODELS : 1;
  for (;;) {
    const served = [...manager.models()].filter((entry) => entry.champion.model !== null).length;
    if (served >= wanted) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return app;
}

const appUrl = async (app: NestFastifyApplication) => (await app.getUrl()).replace('[::1]', '127.0.0.1');

function print(label: string, f: Figures, base?: Figures): void {
  const ratio = base
    ? `   x${(f.rps / base.rps).toFixed(2)} req/s, p99 x${(f.p99 / base.p99).toFixed(2)}`
    : '';
  console.log(
    `${label.padEnd(44)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99
      .toFixed(2)
      .padStart(
        6,
      )} ms   cpu ${f.cpuUs.toFixed(1).padStart(5)} us/req   errors ${f.errors}   non-2xx ${f.non2xx}${ratio}`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sepal-bench-'));
  const single = wrkScript(dir, 'single', BODY);
  const spread = wrkScript(
    dir,
    'spread',
    BODY,
    Array.from({ length: MODELS }, (_, i) => `/predict/${BenchModel.nameOf(i + 1)}`),
  );
  const batch = wrkScript(dir, 'batch', BATCH);
  // Keys on: the gateway's own key (SEPAL_API_KEY, admin) and a predict key the load generator sends.
  const adminKey = randomBytes(24).toString('hex');
  const predictKey = `sepal_${randomBytes(9).toString('base64url')}_${randomBytes(32).toString('base64url')}`;
  const keyed = wrkScript(dir, 'keyed', BODY, [], { 'X-API-Key': predictKey });
  const models = Array.from(
    { length: MODELS },
    (_, i) => new BenchModel(BenchModel.nameOf(i + 1), IRIS_FEATURES, 3, i),
  );
  const registry = await miniRegistry(models, {
    [adminKey]: { name: 'admin', scopes: ['admin'] },
    [predictKey]: { name: 'bench', scopes: ['predict'] },
  });
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const loadBefore = load();

  // Every server is up for the whole run; each is measured alone, in rounds, so that a noisy moment of a shared
  // machine does not fall on one of them only: the median of the rounds is reported.
  const bare = bareNodeServer();
  const bareUrl = await listen(bare);
  const fastify = Fastify({ logger: false });
  fastify.post('/', async (request) => request.body);
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const fastifyUrl = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
  console.log('bare node:http, bare Fastify: not Sepal, nothing to set');
  const one = await gateway(registry.url, { SERVE_MODELS: 'model-01' }, 'Sepal 1 model, keys off');
  const oneKeyed = await gateway(
    registry.url,
    { SERVE_MODELS: 'model-01', SEPAL_API_KEY: adminKey },
    'Sepal 1 model, keys on',
  );
  const viaFastify = await gateway(
    registry.url,
    { SERVE_MODELS: 'model-01', PREDICT_FAST_PATH: 'false' },
    'Sepal via Fastify',
  );
  const many = await gateway(registry.url, { SERVE_MODELS: '*' }, 'Sepal many models');
  await many.get(ModelStacks).settled();
  const loaded = [...many.get(ModelManager).models()].filter((entry) => entry.champion.model).length;
  const stacked = many
    .get(ModelStacks)
    .current()
    .reduce((sum, stack) => sum + stack.members.length, 0);
  const manyAlone = await gateway(
    registry.url,
    { SERVE_MODELS: '*', PREDICT_STACKING: 'false' },
    'Sepal many models unstacked',
  );
  const targets = [
    { key: 'bare', label: 'bare node:http JSON echo', url: bareUrl, script: single },
    { key: 'fastify', label: 'bare Fastify JSON echo', url: fastifyUrl, script: single },
    {
      key: 'one',
      label: 'Sepal /predict, 1 model, keys off',
      url: `${await appUrl(one)}/predict`,
      script: single,
    },
    {
      key: 'keyed',
      label: 'Sepal /predict, 1 model, keys on',
      url: `${await appUrl(oneKeyed)}/predict`,
      script: keyed,
    },
    {
      key: 'many',
      label: `Sepal /predict/{model}, ${loaded} models (${stacked} stacked)`,
      url: await appUrl(many),
      script: spread,
    },
  ];
  console.log(
    `wrk (1 thread, separate process), ${ROUNDS} rounds of ${SECONDS} s per figure (median shown), node ${process.version}, body ${BODY.length} bytes`,
  );
  for (const target of targets) await runWrk(target.url, target.script, 16, 1); // warm-up
  const results = new Map<string, Figures>();
  const measureRounds = async (key: string, url: string, script: string, c: number): Promise<Figures> => {
    const rounds: Figures[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await measure(url, script, c, SECONDS));
    const figures = medianOf(rounds);
    results.set(key, figures);
    return figures;
  };
  for (const c of CONCURRENCY) {
    const rounds = new Map<string, Figures[]>(targets.map((t) => [t.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets)
        rounds.get(target.key)!.push(await measure(target.url, target.script, c, SECONDS));
    }
    for (const target of targets) {
      results.set(`${target.key}-${c}`, medianOf(rounds.get(target.key)!));
      print(
        `${target.label} c=${c}`,
        results.get(`${target.key}-${c}`)!,
        target.key === 'bare' ? undefined : results.get(`bare-${c}`),
      );
    }
  }
  print(
    'Sepal /predict via Fastify (no lean path) c=64',
    await measureRounds('fastify-path-64', `${await appUrl(viaFastify)}/predict`, single, 64),
    results.get('bare-64'),
  );
  print(
    `Sepal /predict/{model}, ${loaded} models unstacked c=64`,
    await measureRounds('unstacked-64', await appUrl(manyAlone), spread, 64),
    results.get('bare-64'),
  );
  const rows = await measureRounds('batch', `${await appUrl(one)}/predict`, batch, 4);
  print(`Sepal /predict, ${BATCH_ROWS}-row batch c=4`, rows);
  console.log(`  batch path: ${(rows.rps * BATCH_ROWS).toFixed(0)} rows/s (target >= 500,000)`);
  for (const app of [one, oneKeyed, viaFastify, many, manyAlone]) await app.close();
  await fastify.close();
  bare.close();
  registry.server.close();

  const at64 = (key: string) => results.get(`${key}-64`)!;
  const ratio = at64('one').rps / at64('bare').rps;
  const p99 = at64('one').p99 / at64('bare').p99;
  const mix = at64('many').rps / at64('one').rps;
  const at16 = (key: string) => results.get(`${key}-16`)!;
  console.log('');
  console.log(`load average (1, 5, 15 min): ${loadBefore} before, ${load()} after`);
  console.log(
    `c=64: keys off/bare node:http ${ratio.toFixed(2)} (target >= 0.65); p99 x${p99.toFixed(2)} of bare`,
  );
  console.log(
    `c=64: keys on/bare node:http ${(at64('keyed').rps / at64('bare').rps).toFixed(2)} (target >= 0.6); p99 ` +
      `x${(at64('keyed').p99 / at64('bare').p99).toFixed(2)} of bare (target <= 1.5)`,
  );
  console.log(
    `c=64: keys on/keys off ${(at64('keyed').rps / at64('one').rps).toFixed(2)} (target >= 0.9); by CPU per ` +
      `request ${(at64('one').cpuUs / at64('keyed').cpuUs).toFixed(2)}`,
  );
  console.log(
    `c=64: ${loaded}-model mix / one model ${mix.toFixed(2)} (target >= 0.90); by CPU per request ${(at64('one').cpuUs / at64('many').cpuUs).toFixed(2)}`,
  );
  console.log(
    `c=64: ${loaded}-model mix unstacked (PREDICT_STACKING=false) / one model ${(results.get('unstacked-64')!.rps / at64('one').rps).toFixed(2)}; by CPU per request ${(at64('one').cpuUs / results.get('unstacked-64')!.cpuUs).toFixed(2)}`,
  );
  console.log(
    `c=16: ${loaded}-model mix / one model ${(at16('many').rps / at16('one').rps).toFixed(2)}; by CPU per request ${(at16('one').cpuUs / at16('many').cpuUs).toFixed(2)}`,
  );
  console.log(
    `c=64: bare Fastify/bare node:http ${(at64('fastify').rps / at64('bare').rps).toFixed(2)}; Sepal lean path/Sepal via Fastify ${(at64('one').rps / results.get('fastify-path-64')!.rps).toFixed(2)}`,
  );
  const errors = [...results.values()].reduce((sum, f) => sum + f.errors + f.non2xx, 0);
  if (errors > 0) {
    console.log(`${errors} errors or non-2xx answers`);
    process.exitCode = 1;
  }
}

/** The round with the median throughput (its latencies with it). */
function medianOf(rounds: Figures[]): Figures {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    ...median,
    errors: rounds.reduce((sum, f) => sum + f.errors, 0),
    non2xx: rounds.reduce((sum, f) => sum + f.non2xx, 0),
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
