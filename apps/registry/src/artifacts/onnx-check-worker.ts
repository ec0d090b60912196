/*
 * A worker thread that checks one uploaded file with libs/ml's validateOnnxModel and posts the verdict back, so that a
 * large model's decoding never holds the registry's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxValidationError, validateOnnxModel } from '@sepal/ml';
import type { FromOnnxCheckWorker, OnnxCheckWorkerData } from './onnx-checker.service';

const port = parentPort;
if (!port) throw new Error('onnx-check-worker.js runs as a worker thread only');
const { bytes, policy } = workerData as OnnxCheckWorkerData;
let message: FromOnnxCheckWorker;
try {
  validateOnnxModel(bytes, policy);
  message = { ok: true };
} catch (error) {
  message =
    error instanceof OnnxValidationError
      ? { ok: false, problem: error.message }
      : { ok: false, error: error instanceof Error ? error.message : String(error) };
}
port.postMessage(message);
