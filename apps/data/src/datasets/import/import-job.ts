import { Worker } from 'node:worker_threads';
import { workerScript } from '@sepal/config';
import { BodyTooLargeError } from '../domain/csv-stream';
import { DatasetFormatError } from '../domain/dataset-format-error';
import type { StageBatch } from '../domain/staged-batch';
import type {
  DryRunSummary,
  FromImportWorker,
  ImportSummary,
  ImportWorkerData,
  ToImportWorker,
  WorkerError,
} from './import-protocol';

/** Chunks of the body posted to the worker and not yet taken by its parser: what bounds the memory of a fast sender. */
const MAX_CHUNKS_IN_FLIGHT = 4;

export interface ImportJobResult<S> {
  summary: S;
  /** The worker thread that read the file (never the service's thread: 0). */
  threadId: number;
}

/**
 * Reads a CSV import in a worker thread: this thread reads the body and posts its chunks (their memory moved, not
 * copied again), the worker parses, converts, hashes and formats the rows, and posts batches ready to stage, which
 * `stage` writes one at a time while the worker makes the next. Resolves with the worker's summary once every batch
 * is staged; rejects with the same errors the inline reader threw (DatasetFormatError, BodyTooLargeError, the
 * stream's own error), after the batch being written has settled.
 */
export function runImportWorker(
  source: AsyncIterable<Buffer | string>,
  data: ImportWorkerData & { dryRun: false },
  stage: (batch: StageBatch) => Promise<void>,
): Promise<ImportJobResult<ImportSummary>>;
export function runImportWorker(
  source: AsyncIterable<Buffer | string>,
  data: ImportWorkerData & { dryRun: true },
): Promise<ImportJobResult<DryRunSummary>>;
export async function runImportWorker(
  source: AsyncIterable<Buffer | string>,
  data: ImportWorkerData,
  stage?: (batch: StageBatch) => Promise<void>,
): Promise<ImportJobResult<ImportSummary | DryRunSummary>> {
  const worker = new Worker(workerScript(__dirname, 'import-worker'), {
    workerData: data,
    stdout: false,
    stderr: false,
  });
  const post = (message: ToImportWorker, transfer?: ArrayBuffer[]) => worker.postMessage(message, transfer);
  let failure: { error: unknown } | null = null;
  let result: ImportJobResult<ImportSummary | DryRunSummary> | null = null;
  let staging: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let wakeReader: (() => void) | null = null;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const fail = (error: unknown) => {
    if (!failure && !result) failure = { error };
    settle();
    wakeReader?.();
  };

  worker.on('message', (message: FromImportWorker) => {
    if (message.type === 'pulled') {
      inFlight -= 1;
      wakeReader?.();
    } else if (message.type === 'batch') {
      const batch = message.batch;
      staging = staging.then(async () => {
        if (failure) return;
        try {
          await stage!(batch);
          post({ type: 'staged' });
        } catch (error) {
          fail(error);
        }
      });
    } else if (message.type === 'failed') {
      fail(workerError(message.error));
    } else {
      // Every batch was posted before this message: the summary counts once they are all staged.
      const done = { summary: message.summary, threadId: message.threadId };
      void staging.then(() => {
        if (!failure) result = done;
        settle();
      });
    }
  });
  worker.on('error', (error) => fail(new Error(`the import worker crashed: ${error.message}`)));
  worker.on('exit', (code) => fail(new Error(`the import worker exited (code ${code})`)));

  const read = async () => {
    for await (const piece of source) {
      if (failure || result) return;
      const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      // A copy the worker owns (a Buffer may share its memory with others, e.g. the pool): moved, not cloned.
      const owned = new Uint8Array(chunk);
      inFlight += 1;
      post({ type: 'chunk', data: owned }, [owned.buffer]);
      while (inFlight >= MAX_CHUNKS_IN_FLIGHT && !failure && !result) {
        await new Promise<void>((resolve) => (wakeReader = resolve));
        wakeReader = null;
      }
      if (failure || result) return;
    }
    post({ type: 'end' });
  };

  // The body broke (an aborted upload): that is the import's error. A refused file does not wait for the rest
  // of the body: the reader stops at its next chunk.
  void read().catch(fail);
  await settled;
  // A batch being written when the import failed settles before the caller rolls the transaction back.
  await staging;
  await worker.terminate();
  if (failure) throw (failure as { error: unknown }).error;
  return result!;
}

function workerError(error: WorkerError): Error {
  if (error.kind === 'format') return new DatasetFormatError(error.line, error.problem);
  if (error.kind === 'too-large') return new BodyTooLargeError(error.limit, error.setting);
  return new Error(`the import worker failed: ${error.message}`);
}
