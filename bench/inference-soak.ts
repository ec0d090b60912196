/**
 * Soak benchmark: `npm run bench:soak` (env SOAK_SECONDS, default 300; BENCH_MODELS, default 20).
 *
 * wrk (its own process) drives POST /predict/{model} at c=64 over BENCH_MODELS models for SOAK_SECONDS while a
 * promotion happens every 10 s on one of several models in turn (model.promoted on the bus, the registry's champion
 * moved too). Reported: non-2xx answers and errors (target 0), resident memory growth after warm-up (target <= 10%),
 * the event loop's delay p99 (target <= 20 ms; the interval histogram of monitorEventLoopDelay less its timer's
 * resolution), the garbage-collection pauses, and the promotions served.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { EventNames } from '@sepal/contracts';
import { createEventBus } from '@sepal/messaging';
import { ModelManager } from '../apps/inference/src';
import {
  BenchModel,
  IRIS_FEATURES,
  IRIS_ROW_BODY,
  miniRegistry,
  runWrk,
  startBenchGateway,
  wrkScript,
} from './inference-support';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const MODELS = Number(process.env.BENCH_MODELS ?? 20);
const PROMOTED_MODELS = 4;
const PROMOTION_EVERY_MS = 10_000;
/**
 * The sampling timer of monitorEventLoopDelay. Its histogram records the whole interval between two ticks of that
 * timer (an idle process reads ~10 ms), so the delay is the figure less this resolution.
 */
const LOOP_RESOLUTION_MS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const models = Array.from(
    { length: MODELS },
    (_, i) => new BenchModel(BenchModel.nameOf(i + 1), IRIS_FEATURES, i < PROMOTED_MODELS ? 4 : 1, i),
  );
  const registry = await miniRegistry(models);
  const namespace = `soak_${process.pid}`;
  const app = await startBenchGateway(registry.url, namespace);
  const manager = app.get(ModelManager);
  while ([...manager.models()].filter((entry) => entry.champion.model).length < MODELS) await sleep(50);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'sepal-soak-'));
  const script = wrkScript(
    dir,
    'spread',
    IRIS_ROW_BODY,
    models.map((m) => `/predict/${m.name}`),
  );
  console.log(
    `soak: wrk c=64 for ${SECONDS} s over ${MODELS} models, a promotion every ${PROMOTION_EVERY_MS / 1000} s on ${PROMOTED_MODELS} of them, node ${process.version}`,
  );

  // Promotions as the registry announces them: the gateway's own bus may publish only the gateway's events.
  const bus = createEventBus({ namespace, serviceName: 'bench' });
  let stop = false;
  let promotions = 0;
  let served = 0;
  const promoter = (async () => {
    for (let round = 0; !stop; round++) {
      await sleep(PROMOTION_EVERY_MS);
      if (stop) break;
      const model = models[round % PROMOTED_MODELS];
      const previous = model.champion;
      model.champion = (model.champion % model.versions.length) + 1;
      const v = model.versions[model.champion - 1];
      promotions++;
      await bus.publish(EventNames.ModelPromoted, {
        modelName: model.name,
        alias: 'champion',
        version: v.version,
        sha256: v.sha256,
        artifactUrl: `${registry.url}/artifacts/${v.sha256}`,
        previousVersion: previous,
        reason: 'soak',
        promotedBy: 'bench',
        promotedAt: new Date().toISOString(),
      });
      const deadline = Date.now() + 5000;
      while (manager.find(model.name).champion.model?.info.version !== v.version && Date.now() < deadline)
        await sleep(5);
      if (manager.find(model.name).champion.model?.info.version === v.version) served++;
    }
  })();

  const warmUpSeconds = Math.min(30, Math.max(5, Math.floor(SECONDS / 10)));
  const rss: { at: number; bytes: number }[] = [];
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  // Garbage-collection pauses after warm-up: what, besides the requests themselves, holds the loop.
  const gcPauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    if (measuring) for (const entry of list.getEntries()) gcPauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const started = Date.now();
  let measuring = false;
  const sampler = setInterval(() => {
    const at = (Date.now() - started) / 1000;
    rss.push({ at, bytes: process.memoryUsage().rss });
    if (at >= warmUpSeconds && !measuring) {
      measuring = true;
      delay.enable();
    }
  }, 1000);
  const figures = await runWrk(url, script, 64, SECONDS);
  clearInterval(sampler);
  delay.disable();
  gc.disconnect();
  stop = true;
  await promoter;

  const after = rss.filter((s) => s.at >= warmUpSeconds);
  const first = median(after.slice(0, 10).map((s) => s.bytes));
  const last = median(after.slice(-10).map((s) => s.bytes));
  const growth = first ? (last - first) / first : 0;
  const intervalP99 = delay.percentile(99) / 1e6;
  const loopP99 = Math.max(0, intervalP99 - LOOP_RESOLUTION_MS);
  gcPauses.sort((a, b) => a - b);
  const gcAt = (q: number) => gcPauses[Math.min(gcPauses.length - 1, Math.floor(q * gcPauses.length))] ?? 0;
  console.log(
    `requests ${figures.requests} (${figures.rps.toFixed(0)} req/s), p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms`,
  );
  console.log(`non-2xx ${figures.non2xx}, errors ${figures.errors} (target 0)`);
  console.log(`promotions ${promotions}, served within 5 s ${served}`);
  console.log(
    `RSS after ${warmUpSeconds} s warm-up ${(first / 2 ** 20).toFixed(0)} MiB -> end ${(last / 2 ** 20).toFixed(0)} MiB: ${(growth * 100).toFixed(1)}% (target <= 10%)`,
  );
  console.log(
    `event-loop delay p99 ${loopP99.toFixed(1)} ms (target <= 20 ms; ${intervalP99.toFixed(1)} ms between ticks of its ${LOOP_RESOLUTION_MS} ms timer)`,
  );
  console.log(
    `GC pauses after warm-up: ${gcPauses.length}, p50 ${gcAt(0.5).toFixed(1)} ms, p99 ${gcAt(0.99).toFixed(1)} ms, max ${(gcPauses.at(-1) ?? 0).toFixed(1)} ms`,
  );
  await bus.close();
  await app.close();
  registry.server.close();
  if (figures.non2xx > 0 || figures.errors > 0 || served < promotions) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
