import { workerScript } from '@sepal/config';
import { Worker } from 'node:worker_threads';
import type { ScoreFileResult } from './score-file';
import type { FromScoreWorker, ScoreWorkerData, ToScoreWorker } from './score-protocol';

/**
 * How long a cancelled worker may take to finish its chunk and release its session before it is terminated (a chunk
 * takes milliseconds; terminating inside onnxruntime's run is the last resort).
 */
const STOP_GRACE_MS = 10_000;

/** The input cannot be scored as it is (a missing feature column, too many rows, no signature): not worth a retry. */
export class BatchRejectedInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchRejectedInput';
  }
}

/**
 * Scores a file in a worker thread of its own (one per job: a job is minutes of work, a thread costs milliseconds).
 * `signal` rejects at once and asks the worker to stop after its current chunk (terminated if it has not within
 * STOP_GRACE_MS); what it wrote so far is the caller's to delete.
 */
export function scoreInWorker(
  data: ScoreWorkerData,
  options: { signal?: AbortSignal; onProgress?: (rows: number) => void } = {},
): Promise<ScoreFileResult> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) return reject(signal.reason as Error);
    // A larger young generation: scoring makes millions of short-lived strings, and scavenges were half its time.
    const worker = new Worker(workerScript(__dirname, 'score-worker'), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      settle(() => reject(signal!.reason as Error));
      worker.postMessage({ type: 'stop' } satisfies ToScoreWorker);
      const deadline = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
      deadline.unref();
      worker.once('exit', () => clearTimeout(deadline));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: FromScoreWorker) => {
      if (message.type === 'progress') options.onProgress?.(message.rows);
      else if (message.type === 'done') settle(() => resolve(message.result));
      else if (message.type === 'stopped')
        settle(() => reject(new Error('scoring stopped: the job was cancelled')));
      else
        settle(() =>
          reject(message.rejected ? new BatchRejectedInput(message.message) : new Error(message.message)),
        );
    });
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the scoring worker exited with code ${code} before answering`))),
    );
  });
}
