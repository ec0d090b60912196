/**
 * Model quality benchmark: `npm run bench:quality` (env BENCH_SECONDS for wrk, default 8; BENCH_DATASETS to choose,
 * default iris,wine-quality-red,wine-quality-white; BENCH_PARTS, default classification,regression,serving;
 * BENCH_FAMILIES, the rows to train, default dense,forest,gbdt,default).
 *
 * Starts the embedded system (`sepal up`: every app in this process, trials in worker threads) and, per dataset, trains
 * each model family through the trainer's REST API on Sepal's own splits (the data service's stable 80/20 split, the
 * validation rows carved from train, or k folds of it on a small split): the dense default grid, a 300-tree random
 * forest, gradient-boosted trees, then the default grid (no grid in the request: what `sepal train` does). The
 * selected configuration is refit on the whole train split (TRAIN_REFIT, on by default). It prints the test accuracy
 * of the refit model, the training seconds (the family's trials plus the refit, from their runs), the seconds against
 * scikit-learn's same family and the ONNX size; the default grid's row is the whole job's wall time and the family it
 * chose. Last, the issue's targets against scikit-learn from the same run. Where /usr/bin/python3 has scikit-learn, it trains RandomForest(300), HistGradientBoosting and an MLP (32)
 * on the same exported train split in the same run and prints them beside. Last, single-row POST /predict through the
 * gateway with wrk (its own process) for a forest against the dense model on Iris, and their ratio.
 *
 * Regression with a categorical column: Wine Quality red and white in one CSV with `colour` as a categorical column,
 * imported through the data service's CSV route as a regression on `quality`; each family's test RMSE, MAE and R²,
 * beside scikit-learn's HistGradientBoostingRegressor and RandomForestRegressor(300) on the same train split (colour
 * one-hot).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobView, ModelVersionView, RunPage, RunView } from '@sepal/contracts';
import {
  sklearnAvailable,
  sklearnRegressionRows,
  sklearnRows,
  sklearnVersion,
  SYSTEM_PYTHON,
  wineColourCsv,
  type RegressionRow,
  type Split,
} from './quality-sklearn';
import { classificationTargets, regressionTargets, targets, timeRatio } from './quality-targets';
import { irisPredictScript, launchBenchSystem, runBench, wrk as runWrk, type WrkResult } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const DATASETS = (process.env.BENCH_DATASETS ?? 'iris,wine-quality-red,wine-quality-white').split(',');
const PARTS = new Set((process.env.BENCH_PARTS ?? 'classification,regression,serving').split(','));
/** The rows of the quality tables to train: the three families and `default` (the default grid's job). */
const TRAINED = new Set((process.env.BENCH_FAMILIES ?? 'dense,forest,gbdt,default').split(','));

const FAMILIES: { family: string; grid: unknown; note: string }[] = [
  {
    family: 'dense',
    grid: { model: ['dense'], learningRate: [0.001, 0.01, 0.05], hiddenUnits: [8, 16, 32] },
    note: '9 trials',
  },
  { family: 'forest', grid: { model: ['forest'], trees: [300] }, note: '300 trees' },
  { family: 'gbdt', grid: { model: ['gbdt'], learningRate: [0.1] }, note: 'early stopping' },
];

interface Row {
  model: string;
  accuracy: number;
  seconds: number;
  bytes: number | null;
  note: string;
}

/** The trainer settings this benchmark changes from `npm start`'s defaults (everything else is a default). */
const SETTINGS: Record<string, string> = {
  // Every version is promoted, so the gateway serves the model just trained.
  GATE_MIN_IMPROVEMENT: '-1',
  GATE_MIN_ACCURACY: '0',
  // The families' grids run to the end whatever the default budget (300 s) would allow.
  TRAIN_BUDGET_S: '3600',
};

/** fetch, again after a reset connection (a kept-alive socket the server closed meanwhile). */
async function fetchRetry(url: string, init?: RequestInit, attempts = 3): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((done) => setTimeout(done, 500));
    }
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetchRetry(url, init);
  if (!response.ok)
    throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const post = <T>(url: string, body: unknown) =>
  json<T>(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
    body: JSON.stringify(body),
  });

interface Urls {
  data: string;
  registry: string;
  trainer: string;
}

/** Trains a job through the trainer and waits for it in the registry; answers its parent run and trial runs. */
async function trainJob(
  urls: Urls,
  body: Record<string, unknown>,
): Promise<{ parent: RunView; trials: RunView[]; job: JobView }> {
  const { jobId } = await post<{ jobId: string }>(`${urls.trainer}/train`, body);
  let job: JobView;
  for (;;) {
    const response = await fetchRetry(`${urls.registry}/jobs/${jobId}`);
    if (response.ok) {
      job = (await response.json()) as JobView;
      if (job.state === 'succeeded') break;
      if (job.state === 'failed' || job.state === 'cancelled') {
        throw new Error(`job ${jobId} ${job.state}: ${job.error}`);
      }
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  const filter = encodeURIComponent(`correlation_id = '${job.correlationId}'`);
  for (;;) {
    const { runs } = await json<RunPage>(`${urls.registry}/runs?limit=1000&filter=${filter}`);
    const parent = runs.find((run) => run.parentRunId === null);
    const tested = parent?.metrics.test_accuracy ?? parent?.metrics.test_rmse;
    if (parent?.status === 'finished' && tested !== undefined) {
      return { parent, trials: runs.filter((run) => run.parentRunId === parent.id), job };
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function splitRows(
  urls: Urls,
  dataset: string,
  version: string,
  split: 'train' | 'test',
): Promise<Split> {
  const result: Split = { features: [], labels: [] };
  let cursor: number | null = -1;
  while (cursor !== null) {
    const page: Split & { nextCursor: number | null } = await json(
      `${urls.data}/datasets/${dataset}/versions/${version}/rows?split=${split}&cursor=${cursor}&limit=1000`,
    );
    result.features.push(...page.features);
    result.labels.push(...page.labels);
    cursor = page.nextCursor;
  }
  return result;
}

const wrk = (url: string, script: string, seconds = SECONDS) =>
  runWrk(url, script, { seconds, connections: 16 });

const table = (rows: Row[]) =>
  rows
    .map(
      (row) =>
        `  ${row.model.padEnd(32)} ${row.accuracy.toFixed(3).padStart(8)} ${row.seconds.toFixed(2).padStart(9)} ` +
        `${timeRatio(row, rows).padStart(13)} ` +
        `${(row.bytes === null ? '-' : `${(row.bytes / 1024).toFixed(0)} KiB`).padStart(10)}  ${row.note}`,
    )
    .join('\n');

/** A family's training seconds: its trials' (from their runs) and the refit's (from the parent run). */
function familySeconds(parent: RunView, trials: RunView[]): number {
  return (
    trials.reduce((sum, trial) => sum + (trial.metrics.seconds ?? 0), 0) + (parent.metrics.refit_seconds ?? 0)
  );
}

/** The default grid (a request without one): test accuracy, the job's wall seconds and the family it chose. */
async function defaultGridRow(urls: Urls, dataset: string): Promise<Row> {
  const { parent, trials, job } = await trainJob(urls, { dataset, modelName: `Bench-${dataset}-default` });
  const chosen = job.steps.find((step) => step.step === 'select')?.summary.params;
  const wall = (Date.parse(job.endedAt ?? '') - Date.parse(job.startedAt ?? '')) / 1000;
  const model = await json<ModelVersionView>(
    `${urls.registry}/models/Bench-${dataset}-default/versions/${parent.tags.model_version}`,
  );
  return {
    model: 'Sepal default grid',
    accuracy: parent.metrics.test_accuracy,
    seconds: wall,
    bytes: model.size,
    note: `${trials.length} trials, job wall time; chose ${String(chosen)}`,
  };
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'sepal-bench-quality-'));
  const {
    system,
    ports: { data, registry, trainer, inference },
  } = await launchBenchSystem(home, SETTINGS);
  const urls: Urls = {
    data: `http://127.0.0.1:${data}`,
    registry: `http://127.0.0.1:${registry}`,
    trainer: `http://127.0.0.1:${trainer}`,
  };
  const withSklearn = sklearnAvailable();
  try {
    console.log(
      `Model families on Sepal's splits (embedded mode, ${system.apps.length} apps in one process; ` +
        'test accuracy of the selected configuration refit on the whole train split, training seconds of the ' +
        "family's trials and refit, ONNX size)",
    );
    if (!withSklearn) console.log(`(${SYSTEM_PYTHON} has no scikit-learn: apt-get install python3-sklearn)`);
    console.log(
      `settings changed from the defaults: ${Object.entries(SETTINGS)
        .map(([name, value]) => `${name}=${value}`)
        .join(
          ' ',
        )}; refit, cross-validation (TRAIN_CV_MAX_ROWS=1000, TRAIN_CV_FOLDS=5), workers and seeds are ` +
        `the defaults; scikit-learn ${sklearnVersion()} with OMP_NUM_THREADS=1, n_jobs=1, random_state=42; ` +
        `${cpus().length} cores, load average ${loadavg()
          .map((load) => load.toFixed(2))
          .join(' ')}`,
    );
    for (const dataset of PARTS.has('classification') ? DATASETS : []) {
      const imported = await fetchRetry(`${urls.data}/datasets/${dataset}/import`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
        body: '{}',
      });
      if (!imported.ok) throw new Error(`import ${dataset}: ${imported.status} ${await imported.text()}`);
      const version = await json<{ id: string; trainRows: number; testRows: number }>(
        `${urls.data}/datasets/${dataset}/versions/latest`,
      );
      const rows: Row[] = [];
      for (const { family, grid, note } of FAMILIES.filter((f) => TRAINED.has(f.family))) {
        const { parent, trials } = await trainJob(urls, {
          dataset,
          modelName: `Bench-${dataset}-${family}`,
          grid,
        });
        const model = await json<ModelVersionView>(
          `${urls.registry}/models/Bench-${dataset}-${family}/versions/${parent.tags.model_version}`,
        );
        rows.push({
          model: `Sepal ${family}`,
          accuracy: parent.metrics.test_accuracy,
          seconds: familySeconds(parent, trials),
          bytes: model.size,
          note: `${note}${parent.metrics.refit_rows ? `, refit on ${parent.metrics.refit_rows} rows` : ''}`,
        });
      }
      if (TRAINED.has('default')) rows.push(await defaultGridRow(urls, dataset));
      if (withSklearn) {
        const [train, test] = await Promise.all([
          splitRows(urls, dataset, version.id, 'train'),
          splitRows(urls, dataset, version.id, 'test'),
        ]);
        rows.push(...sklearnRows(home, train, test));
      }
      console.log(`\n${dataset}: ${version.trainRows} train / ${version.testRows} test rows`);
      console.log(
        `  ${'model'.padEnd(32)} ${'accuracy'.padStart(8)} ${'seconds'.padStart(9)} ${'time ratio'.padStart(13)} ` +
          `${'size'.padStart(10)}`,
      );
      console.log(table(rows));
      classificationTargets(dataset, rows);
    }

    if (PARTS.has('regression')) await regression(urls, home, withSklearn);
    if (targets.length > 0) console.log(`\nTargets (issue 30), from this run:\n${targets.join('\n')}`);
    if (!PARTS.has('serving')) return;

    // Single-row prediction through the gateway: the dense model, then a 300-tree forest, on Iris.
    const script = irisPredictScript(home);
    const predictUrl = `http://127.0.0.1:${inference}/predict`;
    const served = async (
      family: string,
      grid: unknown,
    ): Promise<WrkResult & { version: number; bytes: number }> => {
      const { parent } = await trainJob(urls, { dataset: 'iris', modelName: 'IrisModel', grid });
      const version = Number(parent.tags.model_version);
      for (;;) {
        const answer = await post<{ model: { version: number } }>(predictUrl, {
          features: [5.1, 3.5, 1.4, 0.2],
        }).catch(() => null);
        if (answer?.model.version === version) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      const model = await json<ModelVersionView>(`${urls.registry}/models/IrisModel/versions/${version}`);
      await wrk(predictUrl, script, 2); // warm-up
      const result = await wrk(predictUrl, script);
      console.log(
        `  ${family.padEnd(28)} v${version} ${(model.size ?? 0).toString().padStart(8)} B ` +
          `${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms.toFixed(1)} ms  non-2xx ${result.non2xx}`,
      );
      return { ...result, version, bytes: model.size ?? 0 };
    };
    console.log(
      `\nPOST /predict, one row, wrk -t2 -c16 for ${SECONDS} s (its own process), embedded gateway:`,
    );
    const dense = await served('dense (default dense grid)', FAMILIES[0].grid);
    const forest = await served('forest (300 trees)', FAMILIES[1].grid);
    const boosted = await served('gbdt', FAMILIES[2].grid);
    console.log(
      `  ratio forest/dense ${(forest.requestsPerSecond / dense.requestsPerSecond).toFixed(2)}, ` +
        `gbdt/dense ${(boosted.requestsPerSecond / dense.requestsPerSecond).toFixed(2)} (target ≥ 0.8)`,
    );
  } finally {
    await system.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Each family on the red + white wines as a regression with `colour` categorical, and scikit-learn beside. */
async function regression(urls: Urls, home: string, withSklearn: boolean): Promise<void> {
  const dataset = 'wine-quality-colour';
  const imported = await fetchRetry(
    `${urls.data}/datasets/${dataset}/import?target=quality&task=regression`,
    { method: 'POST', headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' }, body: wineColourCsv() },
  );
  if (!imported.ok) throw new Error(`import ${dataset}: ${imported.status} ${await imported.text()}`);
  const version = await json<{
    id: string;
    trainRows: number;
    testRows: number;
    schema: { features: string[] };
  }>(`${urls.data}/datasets/${dataset}/versions/latest`);
  const rows: RegressionRow[] = [];
  for (const { family, grid } of FAMILIES.filter((f) => TRAINED.has(f.family))) {
    const { parent, trials } = await trainJob(urls, {
      dataset,
      modelName: `Bench-${dataset}-${family}`,
      grid,
    });
    rows.push({
      model: `Sepal ${family}`,
      rmse: parent.metrics.test_rmse,
      mae: parent.metrics.test_mae,
      r2: parent.metrics.test_r2,
      seconds: familySeconds(parent, trials),
    });
  }
  if (withSklearn) {
    const [train, test] = await Promise.all([
      splitRows(urls, dataset, version.id, 'train'),
      splitRows(urls, dataset, version.id, 'test'),
    ]);
    rows.push(...sklearnRegressionRows(home, train, test, version.schema.features.indexOf('colour')));
  }
  console.log(
    `\n${dataset} (red + white, colour categorical), regression on quality: ` +
      `${version.trainRows} train / ${version.testRows} test rows`,
  );
  console.log(
    `  ${'model'.padEnd(32)} ${'RMSE'.padStart(7)} ${'MAE'.padStart(7)} ${'R²'.padStart(7)} ${'seconds'.padStart(9)} ` +
      `${'time ratio'.padStart(13)}`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.model.padEnd(32)} ${row.rmse.toFixed(3).padStart(7)} ${row.mae.toFixed(3).padStart(7)} ` +
        `${row.r2.toFixed(3).padStart(7)} ${row.seconds.toFixed(2).padStart(9)} ${timeRatio(row, rows).padStart(13)}`,
    );
  }
  regressionTargets(rows);
}

runBench(main, { stack: true });
