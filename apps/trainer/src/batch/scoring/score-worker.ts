/*
 * A worker thread that scores one batch job's CSV with its model (score-file.ts) and posts progress and the outcome
 * back, so that parsing and running a million rows never holds the trainer's event loop (its HTTP API, its broker
 * heartbeats). The parent terminates it to cancel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession } from 'onnxruntime-node';
import { batchSignature } from './batch-signature';
import type { FromScoreWorker, ScoreWorkerData } from './score-protocol';
import { BatchInputError, scoreCsvFile } from './score-file';

const port = parentPort;
if (!port) throw new Error('score-worker.js runs as a worker thread only');
const data = workerData as ScoreWorkerData;
const post = (message: FromScoreWorker) => port.postMessage(message);

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
    });
    post({ type: 'done', result });
  } finally {
    await session.release();
  }
}

main().catch((error: unknown) =>
  post({
    type: 'failed',
    message: error instanceof Error ? error.message : String(error),
    rejected: error instanceof BatchInputError,
  }),
);
