/*
 * A worker thread that reads one CSV import: decodes the chunks of the body the service posts, parses records,
 * converts and checks every row, hashes it and formats batches ready to stage (COPY text or JSON). The service's
 * event loop only moves bytes: HTTP, health checks and broker heartbeats keep answering during a large import,
 * and parsing runs on another core while PostgreSQL takes the previous batch.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { runInBackground } from '@sepal/config';
import { importedRowHash, importedRowKey, splitRank } from '../domain/content-hash';
import { labelMap, planImport, RowConverter } from '../domain/csv-import';
import { CsvRecord } from '../domain/csv-records';
import { BodyTooLargeError, openCsv } from '../domain/csv-stream';
import { DatasetFormatError } from '../domain/dataset-format-error';
import { copyRowText, StageBatch, stageBatchOf, StagedRow } from '../domain/staged-batch';
import type { FromImportWorker, ImportWorkerData, ToImportWorker, WorkerError } from './import-protocol';

const port = parentPort;
if (!port) throw new Error('import-worker.js runs as a worker thread only');
// Under contention the process's serving thread gets the core first (see runInBackground).
runInBackground();
const job = workerData as ImportWorkerData;
const send = (message: FromImportWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

/** Batches posted and not yet staged: one being written, one ready; the next waits (memory stays flat). */
const MAX_UNSTAGED = 2;
const encoder = new TextEncoder();

const chunks: Buffer[] = [];
let ended = false;
let wake: (() => void) | null = null;
let unstaged = 0;
let stagedWake: (() => void) | null = null;

port.on('message', (message: ToImportWorker) => {
  if (message.type === 'chunk') {
    chunks.push(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
  } else if (message.type === 'end') {
    ended = true;
  } else {
    unstaged -= 1;
    stagedWake?.();
    stagedWake = null;
    return;
  }
  wake?.();
  wake = null;
});

/** The body as the service posts it; every chunk taken tells the service it may send another. */
async function* body(): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = chunks.shift();
    if (chunk) {
      send({ type: 'pulled' });
      yield chunk;
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

async function post(batch: StageBatch): Promise<void> {
  while (unstaged >= MAX_UNSTAGED) await new Promise<void>((resolve) => (stagedWake = resolve));
  unstaged += 1;
  send({ type: 'batch', batch }, batch.kind === 'copy' ? [batch.data.buffer as ArrayBuffer] : undefined);
}

async function run(): Promise<void> {
  const { options } = job;
  const opened = await openCsv(body(), {
    maxBytes: job.maxBytes,
    limitSetting: job.limitSetting,
    delimiter: options.delimiter,
  });
  const plan = planImport(opened.delimiter, opened.sample, options);
  const converter = new RowConverter(plan, options.cleaningRules);
  const task = plan.schema.task;
  const labels = () =>
    task === 'classification'
      ? labelMap(plan.classes, options.existing?.labels ?? [], converter.classes)
      : [];

  if (job.dryRun) {
    const problems: string[] = [];
    let rowCount = 0;
    const take = (records: CsvRecord[], first: boolean) => {
      records.forEach((record, i) => {
        if (converter.isHeader(record, first && i === 0)) return;
        try {
          converter.convert(record);
          rowCount += 1;
        } catch (error) {
          if (!(error instanceof DatasetFormatError)) throw error;
          if (problems.length < job.maxProblems) problems.push(error.message);
        }
      });
    };
    take(opened.sample, true);
    for await (const records of opened.rest) take(records, false);
    if (rowCount === 0 && problems.length === 0) problems.push('the file has no data rows');
    send({
      type: 'dry-run',
      threadId,
      summary: { schema: { ...plan.schema, labels: labels() }, rowCount, problems },
    });
    return;
  }

  // COPY text is appended row by row; the embedded adapter's JSON is made from row objects.
  let batch: StagedRow[] = [];
  let text = '';
  let batchRows = 0;
  let rows = 0;
  const take = (records: CsvRecord[], first: boolean) => {
    records.forEach((record, i) => {
      if (converter.isHeader(record, first && i === 0)) return;
      const row = converter.convert(record);
      const featuresJson = JSON.stringify(row.features);
      const hash = importedRowHash(job.dataset, task, featuresJson, row.label);
      const rank = splitRank(job.seed, importedRowKey(hash));
      const origin = `${job.fileName}:${row.line}`;
      if (job.copy) text += copyRowText(rows, hash, rank, featuresJson, row.label, origin);
      else batch.push({ ord: rows, hash, rank, featuresJson, label: row.label, origin });
      rows += 1;
      batchRows += 1;
    });
  };
  const flush = async () => {
    if (batchRows === 0) return;
    const ready: StageBatch = job.copy
      ? { kind: 'copy', rows: batchRows, data: encoder.encode(text) }
      : stageBatchOf(batch, false);
    batch = [];
    text = '';
    batchRows = 0;
    await post(ready);
  };
  take(opened.sample, true);
  for await (const records of opened.rest) {
    take(records, false);
    if (batchRows >= job.batchRows) await flush();
  }
  await flush();
  if (rows === 0) throw new DatasetFormatError(null, 'the file has no data rows');
  send({
    type: 'done',
    threadId,
    summary: {
      rows,
      schema: { ...plan.schema, labels: labels() },
      cleaningRules: converter.applied,
      ranges: converter.ranges.map((r) => (r.min <= r.max ? r : null)),
      bytes: opened.bytes(),
    },
  });
}

function describe(error: unknown): WorkerError {
  if (error instanceof DatasetFormatError)
    return { kind: 'format', line: error.line, problem: error.problem };
  if (error instanceof BodyTooLargeError)
    return { kind: 'too-large', limit: error.limit, setting: error.setting };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

run().catch((error: unknown) => send({ type: 'failed', error: describe(error) }));
