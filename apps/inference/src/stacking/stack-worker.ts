/*
 * A worker thread that fuses the artifacts it is given into one stacked model (libs/ml's stackClassifiers) and posts
 * the bytes back: decoding and encoding 64 models of some 50 kB took 80-110 ms of CPU, which the gateway's event loop
 * must not spend.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { stackClassifiers } from '@sepal/ml';
import type { FromStackWorker, StackWorkerData } from './stack-builder.service';

const port = parentPort;
if (!port) throw new Error('stack-worker.js runs as a worker thread only');
const { models } = workerData as StackWorkerData;
let message: FromStackWorker;
try {
  message = { ok: true, bytes: stackClassifiers(models) };
} catch (error) {
  message = { ok: false, error: error instanceof Error ? error.message : String(error) };
}
port.postMessage(message);
