/**
 * npm run bench:batch: a batch job's scoring of 1,000,000 Iris-shaped rows (TRAINER_BATCH_CHUNK_ROWS rows per ONNX
 * run) exactly as the trainer runs it: a worker thread parsing the CSV, checking each row against the signature,
 * running onnxruntime chunk by chunk and writing the output CSV (input row, prediction, 3 probabilities, model, error)
 * with its SHA-256. Prints rows/s and the peak RSS of the process (the worker's memory included), the settings, and a
 * same-run baseline: onnxruntime alone on the same rows, already as one float32 tensor, in one call (no parsing, no
 * output): the ratio says what the job's CSV work costs over the bare model. Targets: >= 200,000 rows/s, peak RSS <=
 * 500 MB. BENCH_BATCH_ROWS changes the row count.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { createRng } from '@sepal/ml';
import { IRIS_FEATURES, irisShapedModel, scoreInWorker, TrainerConfig } from '../apps/trainer/src';
import { printSettings } from './settings';

const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);
const SEED = Number(process.env.BENCH_SEED ?? 20261130);
const mb = (kb: number) => (kb / 1024).toFixed(0);

async function writeRows(path: string, values: Float32Array): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${IRIS_FEATURES.join(',')}\n`);
  const perLine = 10_000;
  for (let start = 0; start < ROWS; start += perLine) {
    const lines: string[] = [];
    for (let r = start; r < Math.min(ROWS, start + perLine); r++) {
      const v = values.subarray(r * 4, r * 4 + 4);
      lines.push(`${v[0].toFixed(1)},${v[1].toFixed(1)},${v[2].toFixed(1)},${v[3].toFixed(1)}`);
    }
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const config = TrainerConfig.load();
  const env = {
    TRAINER_BATCH_CHUNK_ROWS: process.env.TRAINER_BATCH_CHUNK_ROWS,
    TRAINER_BATCH_ORT_THREADS: process.env.TRAINER_BATCH_ORT_THREADS,
  };
  printSettings('bench:batch', env, `${ROWS} rows, seed ${SEED}`);
  console.log(
    `chunk ${config.TRAINER_BATCH_CHUNK_ROWS} rows, ${config.TRAINER_BATCH_ORT_THREADS} onnxruntime thread(s); ` +
      `model: dense 4-16-3 with standardisation in the graph (the shape the trainer exports for Iris)`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'sepal-bench-batch-'));
  try {
    const next = createRng(SEED);
    const ranges = [
      [4.3, 7.9],
      [2.0, 4.4],
      [1.0, 6.9],
      [0.1, 2.5],
    ];
    const values = new Float32Array(ROWS * 4);
    for (let i = 0; i < values.length; i++) {
      const [low, high] = ranges[i % 4];
      values[i] = Math.round((low + next() * (high - low)) * 10) / 10;
    }
    const inputPath = join(dir, 'input.csv');
    await writeRows(inputPath, values);
    const model = irisShapedModel();
    const rssBefore = process.resourceUsage().maxRSS;

    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const result = await scoreInWorker({
      modelBytes: model,
      inputPath,
      outputPath: join(dir, 'output.csv'),
      model: { name: 'iris-bench', version: 1 },
      chunkRows: config.TRAINER_BATCH_CHUNK_ROWS,
      maxRows: config.TRAINER_BATCH_MAX_ROWS,
      maxRowsSetting: 'TRAINER_BATCH_MAX_ROWS',
      intraOpThreads: config.TRAINER_BATCH_ORT_THREADS,
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const peakKb = process.resourceUsage().maxRSS;
    if (result.rows !== ROWS || result.errorRows !== 0) {
      throw new Error(`scored ${result.rows} rows with ${result.errorRows} errors, expected ${ROWS} and 0`);
    }
    const jobRate = ROWS / seconds;
    const inputBytes = (await stat(inputPath)).size;

    const session = await InferenceSession.create(model, {
      intraOpNumThreads: config.TRAINER_BATCH_ORT_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const baseStarted = performance.now();
    await session.run({ features: new Tensor('float32', values, [ROWS, 4]) }, ['probabilities', 'label']);
    const baseSeconds = (performance.now() - baseStarted) / 1000;
    await session.release();
    const baseRate = ROWS / baseSeconds;

    console.log(
      `batch job scoring: ${ROWS} rows in ${seconds.toFixed(2)} s = ${Math.round(jobRate)} rows/s ` +
        `(input ${(inputBytes / 2 ** 20).toFixed(1)} MiB, output ${(result.bytes / 2 ** 20).toFixed(1)} MiB, ` +
        `sha256 ${result.sha256.slice(0, 12)})`,
    );
    console.log(
      `CPU time of the job: ${cpuSeconds.toFixed(2)} s (every thread of the process) = ` +
        `${Math.round(ROWS / cpuSeconds)} rows per CPU-second; load average when it ended: ` +
        `${loadavg()[0].toFixed(2)} on ${cpus().length} cores`,
    );
    console.log(
      `peak RSS: ${mb(peakKb)} MB during the job (${mb(rssBefore)} MB before it, the rows generated in memory included)`,
    );
    console.log(
      `baseline (onnxruntime alone, the same rows as one tensor, one call): ${baseSeconds.toFixed(2)} s = ` +
        `${Math.round(baseRate)} rows/s; job / baseline = ${(jobRate / baseRate).toFixed(2)}`,
    );
    const rateOk = jobRate >= 200_000;
    const rssOk = peakKb / 1024 <= 500;
    console.log(
      `targets: >= 200000 rows/s ${rateOk ? 'met' : 'NOT met'}; peak RSS <= 500 MB ${rssOk ? 'met' : 'NOT met'}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
