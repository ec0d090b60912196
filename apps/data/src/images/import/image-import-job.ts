import { Worker } from 'node:worker_threads';
import { UnprocessableError } from '@sepal/contracts';
import { workerScript } from '@sepal/config';
import type { StageBatch } from '../../datasets/domain/staged-batch';
import { ImageLimitError } from '../domain/image-reader';
import type {
  FromImageWorker,
  ImageBlobs,
  ImageImportSummary,
  ImageImportWorkerData,
  ImageWorkerError,
} from './image-import-protocol';

/**
 * Reads an image import in a worker thread (unzip, decode, resize, hash: all off this event loop) and stages each
 * batch it posts, one at a time, while it makes the next. Resolves with the worker's summary once every batch is
 * staged; rejects with a 413 (a limit), a 422 (files that cannot be read, a layout Sepal does not read) or the
 * staging's own error, after the batch being written has settled.
 */
export async function runImageImportWorker(
  data: ImageImportWorkerData,
  stage: (batch: StageBatch, blobs: ImageBlobs) => Promise<void>,
): Promise<ImageImportSummary> {
  const transferList = data.source.kind === 'zip' ? [data.source.zip.buffer as ArrayBuffer] : [];
  const worker = new Worker(workerScript(__dirname, 'image-import-worker'), {
    workerData: data,
    transferList,
    stdout: false,
    stderr: false,
  });
  let failure: { error: unknown } | null = null;
  let result: ImageImportSummary | null = null;
  let staging: Promise<void> = Promise.resolve();
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const fail = (error: unknown) => {
    if (!failure && !result) failure = { error };
    settle();
  };
  worker.on('message', (message: FromImageWorker) => {
    if (message.type === 'batch') {
      staging = staging.then(async () => {
        if (failure) return;
        try {
          await stage(message.batch, message.blobs);
          worker.postMessage({ type: 'staged' });
        } catch (error) {
          fail(error);
        }
      });
    } else if (message.type === 'failed') {
      fail(workerError(message.error));
    } else {
      const summary = message.summary;
      void staging.then(() => {
        if (!failure) result = summary;
        settle();
      });
    }
  });
  worker.on('error', (error) => fail(new Error(`the image import worker crashed: ${error.message}`)));
  worker.on('exit', (code) => fail(new Error(`the image import worker exited (code ${code})`)));
  await settled;
  await staging;
  await worker.terminate();
  if (failure) throw (failure as { error: unknown }).error;
  return result!;
}

function workerError(error: ImageWorkerError): Error {
  if (error.kind === 'limit') return new ImageLimitError(error.message, error.setting);
  if (error.kind === 'files') {
    const more =
      error.total > error.problems.length ? ` (and ${error.total - error.problems.length} more)` : '';
    return new UnprocessableError(
      `${error.total} image file(s) could not be read; nothing was written: ${error.problems.join('; ')}${more}`,
      'Fix or remove those files and import again.',
      { problems: error.problems, total: error.total },
    );
  }
  if (error.kind === 'layout') {
    return new UnprocessableError(
      `${error.message}; nothing was written`,
      'Fix the archive and import again.',
    );
  }
  return new Error(`the image import worker failed: ${error.message}`);
}
