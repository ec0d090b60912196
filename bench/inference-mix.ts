/**
 * Many-model mix benchmark: `npm run bench:mix` (env BENCH_ROUNDS, default 5; BENCH_SECONDS, default 3; BENCH_MODELS,
 * default 20; BENCH_CONCURRENCY, default "16,64").
 *
 * Each figure comes from a gateway in a process of its own, started for that one measurement: one model
 * (`POST /predict`), BENCH_MODELS models of one architecture (`POST /predict/{model}`, requests spread over them by a
 * wrk Lua script) with stacking, and the same without it (PREDICT_STACKING=false). The three alternate, round after
 * round, so a noisy stretch of a shared machine falls on all of them; the load generator is wrk in its own process.
 * Printed per run: req/s and the CPU time the gateway process spent per request; then, per configuration, the best
 * run (the least disturbed) and the median, and the mix's ratios to one model.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelManager, ModelStacks } from '../apps/inference/src';
import {
  BenchModel,
  IRIS_FEATURES,
  IRIS_ROW_BODY,
  miniRegistry,
  runWrk,
  startBenchGateway,
  wrkScript,
} from './inference-support';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const MODELS = Number(process.env.BENCH_MODELS ?? 20);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '16,64').split(',').map(Number);
const CONFIGURATIONS = ['one', 'stacked', 'unstacked'] as const;
type Configuration = (typeof CONFIGURATIONS)[number];

interface Run {
  rps: number;
  cpuUs: number;
  non2xx: number;
  errors: number;
}

/** Child: starts one gateway, warms it, measures it once with wrk and prints the figures as JSON. */
async function serve(configuration: Configuration, connections: number): Promise<void> {
  const models = Array.from(
    { length: MODELS },
    (_, i) => new BenchModel(BenchModel.nameOf(i + 1), IRIS_FEATURES, 1, i),
  );
  const registry = await miniRegistry(models);
  const app = await startBenchGateway(registry.url, `mix_${process.pid}`, {
    SERVE_MODELS: configuration === 'one' ? 'model-01' : '*',
    PREDICT_STACKING: configuration === 'unstacked' ? 'false' : 'true',
  });
  const manager = app.get(ModelManager);
  const wanted = configuration === 'one' ? 1 : MODELS;
  while ([...manager.models()].filter((entry) => entry.champion.model).length < wanted) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await app.get(ModelStacks).settled();
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'sepal-mix-'));
  const script =
    configuration === 'one'
      ? wrkScript(dir, 'one', IRIS_ROW_BODY)
      : wrkScript(
          dir,
          'spread',
          IRIS_ROW_BODY,
          models.map((model) => `/predict/${model.name}`),
        );
  const target = configuration === 'one' ? `${url}/predict` : url;
  await runWrk(target, script, connections, 1);
  const before = process.cpuUsage();
  const figures = await runWrk(target, script, connections, SECONDS);
  const used = process.cpuUsage(before);
  const run: Run = {
    rps: figures.rps,
    cpuUs: (used.user + used.system) / Math.max(1, figures.requests),
    non2xx: figures.non2xx,
    errors: figures.errors,
  };
  console.log(`MIXJSON ${JSON.stringify(run)}`);
  await app.close();
  registry.server.close();
}

function measureInChild(configuration: Configuration, connections: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, 'serve', configuration, String(connections)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = /MIXJSON (\{.*\})/.exec(out);
      if (!line)
        return reject(new Error(`the ${configuration} gateway printed no figures (exit ${code}):\n${out}`));
      resolve(JSON.parse(line[1]) as Run);
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  console.log(
    `${ROUNDS} rounds of ${SECONDS} s per gateway, each in a fresh process; wrk (1 thread, its own process); ${MODELS} models of one architecture; node ${process.version}`,
  );
  let failures = 0;
  for (const connections of CONCURRENCY) {
    const runs = new Map<Configuration, Run[]>(CONFIGURATIONS.map((c) => [c, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const configuration of CONFIGURATIONS) {
        const run = await measureInChild(configuration, connections);
        failures += run.non2xx + run.errors;
        runs.get(configuration)!.push(run);
        console.log(
          `c=${connections} round ${round + 1} ${configuration.padEnd(9)} ${run.rps.toFixed(0).padStart(7)} req/s   cpu ${run.cpuUs.toFixed(1).padStart(6)} us/req   non-2xx ${run.non2xx}   errors ${run.errors}`,
        );
      }
    }
    const best = (c: Configuration) => Math.min(...runs.get(c)!.map((run) => run.cpuUs));
    const middle = (c: Configuration) => median(runs.get(c)!.map((run) => run.cpuUs));
    const rps = (c: Configuration) => median(runs.get(c)!.map((run) => run.rps));
    for (const c of CONFIGURATIONS) {
      console.log(
        `c=${connections} ${c.padEnd(9)} best ${best(c).toFixed(1)} us/req, median ${middle(c).toFixed(1)} us/req, median ${rps(c).toFixed(0)} req/s`,
      );
    }
    for (const mix of ['stacked', 'unstacked'] as const) {
      console.log(
        `c=${connections}: ${MODELS}-model mix ${mix} / one model: by CPU per request ${(best('one') / best(mix)).toFixed(2)} (best runs), ${(middle('one') / middle(mix)).toFixed(2)} (medians); by req/s ${(rps(mix) / rps('one')).toFixed(2)} (medians)${mix === 'stacked' ? ' (target >= 0.90)' : ''}`,
      );
    }
  }
  if (failures > 0) {
    console.log(`${failures} errors or non-2xx answers`);
    process.exitCode = 1;
  }
}

const [mode, configuration, connections] = process.argv.slice(2);
(mode === 'serve' ? serve(configuration as Configuration, Number(connections)) : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
