import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerScript } from '@sepal/config';
import type { EpochMetrics } from '../training/training-input';
import type { BackendName, BackendPreference } from '../training/tf-backend';
import type { FromWorker, TrialOutput, TrialTask, TrialWorkerData } from './trial-protocol';
import { receivedTrialOutput } from './tree-output-transfer';

export interface TrialPoolOptions {
  /** Worker threads; default: cores − 1, at least 1. */
  workers: number;
  backend: BackendPreference;
  /**
   * Tensor memory a trial may hold (checked after every batch); a worker's V8 heap is capped at this plus
   * WORKER_HEAP_ALLOWANCE_MB for TensorFlow.js itself and the trial's data (resourceLimits).
   */
  memoryMb: number;
  /** Wall-clock limit of one trial, in seconds. */
  trialTimeoutS: number;
  log?: (message: string) => void;
}

export interface TrialRun {
  task: TrialTask;
  onEpoch?: (metrics: EpochMetrics) => void;
  signal?: AbortSignal;
}

/** Why a trial stopped without a model; `cancelled` means its signal was aborted. */
export class TrialFailedError extends Error {
  constructor(
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
    this.name = 'TrialFailedError';
  }
}

/** Heap a worker needs besides the trial's tensors: TensorFlow.js's code and the rows of the split. */
export const WORKER_HEAP_ALLOWANCE_MB = 384;

export const defaultWorkerCount = (): number => Math.max(1, os.availableParallelism() - 1);

/**
 * Trains trials in worker threads, as many at once as there are workers. A trial over its time or memory limit, or
 * cancelled, is stopped by terminating its worker (the only way to stop a thread inside a TensorFlow.js kernel), and a
 * fresh worker takes its place; the other trials go on.
 */
export class TrialPool {
  private readonly idle: PoolWorker[] = [];
  private readonly all = new Set<PoolWorker>();
  private readonly waiting: { resolve: (worker: PoolWorker) => void; reject: (error: Error) => void }[] = [];
  private closed = false;
  private nextId = 1;
  private backendName: BackendName | null = null;

  constructor(private readonly options: TrialPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new Error(`TRAINER_WORKERS must be a whole number ≥ 1, got ${options.workers}`);
    }
  }

  get size(): number {
    return this.options.workers;
  }

  /** The backend the workers run on, once one has started. */
  get backend(): BackendName | null {
    return this.backendName;
  }

  /** Starts a worker if none is running and answers the backend the workers train on. */
  async warm(): Promise<BackendName> {
    if (this.backendName !== null) return this.backendName;
    const worker = await this.acquire();
    this.release(worker);
    return worker.ready;
  }

  async run({ task, onEpoch, signal }: TrialRun): Promise<TrialOutput> {
    signal?.throwIfAborted();
    const worker = await this.acquire(signal);
    const id = this.nextId++;
    try {
      return await new Promise<TrialOutput>((resolve, reject) => {
        const finish = (outcome: () => void) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          worker.current = null;
          outcome();
        };
        const stop = (error: TrialFailedError) => {
          finish(() => reject(error));
          void worker.kill();
        };
        const timer = setTimeout(
          () =>
            stop(
              new TrialFailedError(
                `the trial exceeded its time limit: TRIAL_TIMEOUT_S=${this.options.trialTimeoutS}`,
              ),
            ),
          this.options.trialTimeoutS * 1000,
        );
        const onAbort = () =>
          stop(new TrialFailedError(`the trial was cancelled: ${describe(signal?.reason)}`, true));
        signal?.addEventListener('abort', onAbort, { once: true });
        worker.current = {
          id,
          onEpoch: (metrics) => onEpoch?.(metrics),
          done: (output) => finish(() => resolve(output)),
          failed: (message) => finish(() => reject(new TrialFailedError(message))),
        };
        worker.thread.postMessage({ type: 'train', id, task });
      });
    } finally {
      this.release(worker);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('the trial pool is closed'));
    await Promise.all([...this.all].map((worker) => worker.kill()));
  }

  /** An idle worker, a new one, or the next to be released; a trial cancelled while it waits stops waiting. */
  private async acquire(signal?: AbortSignal): Promise<PoolWorker> {
    if (this.closed) throw new Error('the trial pool is closed');
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size < this.options.workers) return this.spawn();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(new TrialFailedError(`the trial was cancelled: ${describe(signal?.reason)}`, true));
      };
      const waiter = {
        resolve: (worker: PoolWorker) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(worker);
        },
        reject: (error: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(worker: PoolWorker): void {
    if (worker.dead) {
      this.forget(worker);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(worker);
    else this.idle.push(worker);
  }

  /** A worker died (killed, crashed or failed to start): a trial waiting for a worker gets a fresh one. */
  private forget(worker: PoolWorker): void {
    if (!this.all.delete(worker) || this.closed) return;
    const waiter = this.waiting.shift();
    if (waiter) this.spawn().then(waiter.resolve, waiter.reject);
  }

  private spawn(): Promise<PoolWorker> {
    const worker = new PoolWorker(
      {
        backend: this.options.backend,
        tensorBytesLimit: this.options.memoryMb * 2 ** 20,
      },
      this.options.memoryMb,
      () => this.forget(worker),
    );
    this.all.add(worker);
    return worker.ready.then((backend) => {
      if (this.backendName === null) this.options.log?.(`trial workers run TensorFlow.js on ${backend}`);
      this.backendName = backend;
      return worker;
    });
  }
}

interface CurrentTrial {
  id: number;
  onEpoch(metrics: EpochMetrics): void;
  done(output: TrialOutput): void;
  failed(message: string): void;
}

class PoolWorker {
  readonly thread: Worker;
  readonly ready: Promise<BackendName>;
  current: CurrentTrial | null = null;
  dead = false;

  constructor(data: TrialWorkerData, memoryMb: number, onExit: () => void) {
    this.thread = new Worker(workerScript(__dirname, 'trial-worker'), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: memoryMb + WORKER_HEAP_ALLOWANCE_MB },
      stdout: false,
      stderr: false,
    });
    this.ready = new Promise<BackendName>((resolve, reject) => {
      this.thread.on('message', (message: FromWorker) => {
        if (message.type === 'ready') resolve(message.backend);
        else if (message.type === 'fatal')
          reject(new Error(`a trial worker could not start: ${message.message}`));
        else if (this.current?.id === message.id) {
          if (message.type === 'epoch') this.current.onEpoch(message.metrics);
          else if (message.type === 'done') this.current.done(receivedTrialOutput(message.output));
          else this.current.failed(message.message);
        }
      });
      this.thread.on('error', (error: Error & { code?: string }) => {
        this.dead = true;
        const message =
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `the trial exceeded its memory cap: TRIAL_MEMORY_MB=${memoryMb} (heap)`
            : `the trial worker crashed: ${error.message}`;
        reject(new Error(message));
        this.current?.failed(message);
      });
      this.thread.on('exit', (code) => {
        this.dead = true;
        onExit();
        reject(new Error(`a trial worker exited (code ${code}) before it was ready`));
        this.current?.failed(`the trial worker exited with code ${code}`);
      });
    });
    this.ready.catch(() => undefined);
  }

  async kill(): Promise<void> {
    this.dead = true;
    await this.thread.terminate();
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}
