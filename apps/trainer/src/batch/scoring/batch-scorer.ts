import { workerScript } from '@sepal/config';
import { Worker } from 'node:worker_threads';
import type { ScoreFileResult } from './score-file';
import type { FromScoreWorker, ScoreWorkerData } from './score-protocol';

/** The input cannot be scored as it is (a missing feature column, too many rows, no signature): not worth a retry. */
export class BatchRejectedInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchRejectedInput';
  }
}

/**
 * Scores a file in a worker thread of its own (one per job: a job is minutes of work, a thread costs milliseconds).
 * `signal` terminates the worker at once; what it wrote so far is the caller's to delete.
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
      void worker.terminate();
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: FromScoreWorker) => {
      if (message.type === 'progress') options.onProgress?.(message.rows);
      else if (message.type === 'done') settle(() => resolve(message.result));
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
