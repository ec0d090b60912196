/*
 * A worker thread that scores one batch job's CSV with its model (score-file.ts) and posts progress and the outcome
 * back, so that parsing and running a million rows never holds the trainer's event loop (its HTTP API, its broker
 * heartbeats). To cancel, the parent posts `stop`: the worker ends after the chunk it is scoring and releases its
 * session (terminating a thread inside onnxruntime's run can abort the whole process with a native error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runInBackground } from '@sepal/config';
import { InferenceSession } from 'onnxruntime-node';
import { batchSignature } from './batch-signature';
import type { FromScoreWorker, ScoreWorkerData, ToScoreWorker } from './score-protocol';
import { BatchInputError, scoreCsvFile, ScoringStopped } from './score-file';

const port = parentPort;
if (!port) throw new Error('score-worker.js runs as a worker thread only');
// Under contention the process's serving thread gets the core first (see runInBackground).
runInBackground();
const data = workerData as ScoreWorkerData;
const post = (message: FromScoreWorker) => port.postMessage(message);
let stopRequested = false;
port.on('message', (message: ToScoreWorker) => {
  if (message.type === 'stop') stopRequested = true;
});

async function main(): Promise<void> {
  let signature;
  try {
    signature = batchSignature(data.modelBytes);
  } catch (error) {
    throw new BatchInputError(`the model's artifact has no usable signature: ${(error as Error).message}`);
  }
  const session = await InferenceSession.create(data.modelBytes, {
    intraOpNumThreads: data.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const result = await scoreCsvFile(session, signature, {
      ...data,
      onProgress: (rows) => post({ type: 'progress', rows }),
      shouldStop: () => stopRequested,
    });
    post({ type: 'done', result });
  } finally {
    await session.release();
  }
}

main()
  .catch((error: unknown) =>
    post(
      error instanceof ScoringStopped
        ? { type: 'stopped' }
        : {
            type: 'failed',
            message: error instanceof Error ? error.message : String(error),
            rejected: error instanceof BatchInputError,
          },
    ),
  )
  // The listener for `stop` would hold the thread open: unref lets it end once the last message is sent.
  .finally(() => port.unref());
