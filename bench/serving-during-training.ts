/**
 * Serving while training: `npm run bench:train` (second part). Starts the embedded system (`sepal up`: every app in
 * this process, trials in worker threads) with keys on (SEPAL_API_KEY), drives `POST /predict` with a key from wrk at
 * c=16 in its own process, first idle, then while a retrain runs: BENCH_RETRAIN_DATASET (default wine-quality-white,
 * imported first) with its default grid. Prints req/s, p99, errors and timeouts of both and their ratio (target
 * ≥ 0.7, with 0 failed or timed-out requests).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { irisPredictScript, launchBenchSystem, runBench, wrk as runWrk, type WrkResult } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const DATASET = process.env.BENCH_RETRAIN_DATASET ?? 'wine-quality-white';
/** The bootstrap admin key of this run (keys on, as a deployment runs): wrk and every call below send it. */
const KEY = `sepal_${randomBytes(24).toString('hex')}`;
const keyed = { 'x-api-key': KEY };

const wrk = (url: string, script: string) =>
  runWrk(url, script, { seconds: SECONDS, connections: CONNECTIONS, timeout: '2s' });

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
  const {
    system,
    ports: { data, registry, trainer, inference },
  } = await launchBenchSystem(home, { DRIFT_PSI_THRESHOLD: '0', SEPAL_API_KEY: KEY });
  const script = irisPredictScript(home, KEY);
  const predictUrl = `http://127.0.0.1:${inference}/predict`;
  try {
    await wrk(predictUrl, script); // warm-up
    const idle = await wrk(predictUrl, script);
    if (DATASET !== 'iris') {
      const imported = await fetch(`http://127.0.0.1:${data}/datasets/${DATASET}/import`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...keyed },
        body: '{}',
      });
      if (!imported.ok) throw new Error(`import ${DATASET}: ${imported.status} ${await imported.text()}`);
    }
    // The dataset's default grid, as `sepal train --dataset <name>` runs it.
    const accepted = await fetch(`http://127.0.0.1:${trainer}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...keyed },
      body: JSON.stringify({ dataset: DATASET }),
    });
    if (!accepted.ok) throw new Error(`train ${DATASET}: ${accepted.status} ${await accepted.text()}`);
    const { jobId } = (await accepted.json()) as { jobId: string };
    const jobUrl = `http://127.0.0.1:${registry}/jobs/${jobId}`;
    for (;;) {
      const job = (await (await fetch(jobUrl, { headers: keyed })).json().catch(() => ({}))) as {
        steps?: { step: string; state: string }[];
      };
      if (job.steps?.some((s) => s.step === 'train-trials' && s.state === 'running')) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    const training = await wrk(predictUrl, script);
    const after = (await (await fetch(jobUrl, { headers: keyed })).json()) as {
      steps: { step: string; state: string }[];
    };
    const stillTraining = after.steps.find((s) => s.step === 'train-trials')?.state === 'running';
    console.log(
      `POST /predict with a key, wrk -c${CONNECTIONS} for ${SECONDS} s (its own process), embedded mode, keys on; retrain: ${DATASET}, default grid:`,
    );
    console.log(line('idle', idle));
    console.log(line('during a retrain', training));
    console.log(
      `ratio ${(training.requestsPerSecond / idle.requestsPerSecond).toFixed(2)} (target ≥ 0.7); ` +
        `the retrain was ${stillTraining ? 'still training trials' : 'past its trials'} when the measurement ended`,
    );
    await fetch(jobUrl, { method: 'DELETE', headers: keyed });
  } finally {
    await system.close();
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
