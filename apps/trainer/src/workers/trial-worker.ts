/*
 * A worker thread that trains trials, one at a time. It loads TensorFlow.js once, so the serving thread of the process
 * never runs a training step: HTTP, health checks and broker heartbeats keep answering while it works.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runInBackground } from '@sepal/config';
import { trainCnnTask } from '../training/cnn-trial';
import { trainDenseClassifier } from '../training/dense-classifier';
import { loadTensorFlow, type TensorFlowHandle } from '../training/tf-backend';
import { trainTreeTrial } from '../training/tree-trial';
import type { FromWorker, ToWorker, TrialTask, TrialWorkerData } from './trial-protocol';
import { packTreeOutput } from './tree-output-transfer';

const port = parentPort;
if (!port) throw new Error('trial-worker.js runs as a worker thread only');
// Under contention the process's serving thread gets the core first (see runInBackground).
runInBackground();
const { backend, tensorBytesLimit } = workerData as TrialWorkerData;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function train(handle: TensorFlowHandle, id: number, task: TrialTask): Promise<void> {
  if (task.family === 'cnn') {
    const controller = new AbortController();
    try {
      const output = await trainCnnTask(task, handle, {
        signal: controller.signal,
        onBatchEnd: () => checkMemory(handle, controller),
        onEpoch: (metrics) => {
          checkMemory(handle, controller);
          send({ type: 'epoch', id, metrics });
        },
      });
      send({ type: 'done', id, output });
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      send({ type: 'failed', id, message: reason instanceof Error ? reason.message : String(reason) });
    }
    return;
  }
  if (task.family !== 'dense') {
    // Tree learners are synchronous: a cancelled or overdue tree trial is stopped by terminating the worker.
    try {
      const { output, transfer } = packTreeOutput({ ...trainTreeTrial(task), backend: handle.backend });
      send({ type: 'done', id, output }, transfer);
    } catch (error) {
      send({ type: 'failed', id, message: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  const controller = new AbortController();
  try {
    const { family: _family, ...dense } = task;
    const trained = await trainDenseClassifier(
      {
        ...dense,
        signal: controller.signal,
        onBatchEnd: () => checkMemory(handle, controller),
        onEpoch: (metrics) => {
          checkMemory(handle, controller);
          send({ type: 'epoch', id, metrics });
        },
      },
      handle,
    );
    try {
      const predictions = await trained.predictProba(task.predictRows);
      const valPredictions = task.task === 'regression' ? await trained.predictProba(task.xVal) : undefined;
      const { spec, history, stoppedEarly, bestEpoch } = trained;
      send({
        type: 'done',
        id,
        output: {
          family: 'dense',
          spec,
          history,
          stoppedEarly,
          bestEpoch,
          predictions,
          ...(valPredictions ? { valPredictions } : {}),
          backend: handle.backend,
        },
      });
    } finally {
      trained.dispose();
    }
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
    send({ type: 'failed', id, message: reason instanceof Error ? reason.message : String(reason) });
  }
}

function checkMemory({ tf }: TensorFlowHandle, controller: AbortController): void {
  const bytes = tf.memory().numBytes;
  if (bytes > tensorBytesLimit && !controller.signal.aborted) {
    controller.abort(
      new Error(
        `the trial exceeded its memory cap: ${Math.round(bytes / 2 ** 20)} MiB of tensors, ` +
          `limit TRIAL_MEMORY_MB=${Math.round(tensorBytesLimit / 2 ** 20)}`,
      ),
    );
  }
}

loadTensorFlow(backend).then(
  (handle) => {
    let queue = Promise.resolve();
    port.on('message', (message: ToWorker) => {
      queue = queue.then(() => train(handle, message.id, message.task));
    });
    send({ type: 'ready', backend: handle.backend });
  },
  (error: unknown) =>
    send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) }),
);
