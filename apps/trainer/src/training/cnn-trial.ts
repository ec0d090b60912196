import type { CnnTrialOutput, CnnTrialTask } from '../workers/trial-protocol';
import { trainCnnClassifier } from './cnn-model';
import type { TensorFlowHandle } from './tf-backend';
import type { EpochLoopInput } from './dense-classifier';

/** Rows of a flat probability array [N × classes], one array per image. */
export function probabilityRows(flat: Float32Array, classes: number): number[][] {
  const rows: number[][] = [];
  for (let at = 0; at < flat.length; at += classes) rows.push(Array.from(flat.subarray(at, at + classes)));
  return rows;
}

/**
 * Trains one CNN trial on the thread that holds TensorFlow.js (a trial worker; the WASM backend has the
 * Conv2DBackpropFilter kernel registered by loadTensorFlow), then scores the test images with the kept weights and
 * frees the model: the answer is plain numbers.
 */
export async function trainCnnTask(
  task: CnnTrialTask,
  handle: TensorFlowHandle,
  hooks: Pick<EpochLoopInput, 'signal' | 'onEpoch' | 'onBatchEnd'>,
): Promise<CnnTrialOutput> {
  const trained = await trainCnnClassifier(
    {
      image: task.image,
      xTrain: task.xTrain,
      yTrain: task.yTrain,
      xVal: task.xVal,
      yVal: task.yVal,
      labels: task.labels,
      params: task.params,
      seed: task.seed,
      ...hooks,
    },
    handle,
  );
  try {
    const predictions = probabilityRows(await trained.predictProba(task.predictImages), task.labels.length);
    const { spec, history, stoppedEarly, bestEpoch } = trained;
    return { family: 'cnn', spec, history, stoppedEarly, bestEpoch, predictions, backend: handle.backend };
  } finally {
    trained.dispose();
  }
}
