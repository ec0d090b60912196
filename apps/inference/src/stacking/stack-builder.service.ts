import { Injectable } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { workerScript } from '@sepal/config';

export interface StackWorkerData {
  models: Uint8Array[];
}

export type FromStackWorker = { ok: true; bytes: Uint8Array } | { ok: false; error: string };

/** Fuses the artifacts of models of one architecture into one stacked model (port; see WorkerStackBuilder). */
export abstract class StackBuilder {
  abstract stack(models: readonly Uint8Array[]): Promise<Uint8Array>;
}

/** Runs libs/ml's stackClassifiers in a worker thread of its own, one per build: builds are rare (a load or retire). */
@Injectable()
export class WorkerStackBuilder extends StackBuilder {
  stack(models: readonly Uint8Array[]): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const data: StackWorkerData = { models: [...models] };
      const worker = new Worker(workerScript(__dirname, 'stack-worker'), { workerData: data });
      let answered = false;
      worker.once('message', (message: FromStackWorker) => {
        answered = true;
        if (message.ok) resolve(message.bytes);
        else reject(new Error(message.error));
      });
      worker.once('error', (error) => {
        answered = true;
        reject(error);
      });
      worker.once('exit', (code) => {
        if (!answered) reject(new Error(`the stack worker exited with code ${code} before answering`));
      });
    });
  }
}
