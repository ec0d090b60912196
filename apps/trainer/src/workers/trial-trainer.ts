import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { trainDenseClassifier, type TrainedDenseClassifier } from '../training/dense-classifier';
import { loadTensorFlow, type BackendName, type BackendPreference } from '../training/tf-backend';
import type { EpochMetrics } from '../training/training-input';
import { TrainerConfig, type TrainerConfigValues } from '../trainer.config';
import type { TrialOutput, TrialTask } from './trial-protocol';
import { TrialPool } from './trial-pool';

export interface TrialRequest extends TrialTask {
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  signal?: AbortSignal;
  /** Which job and grid index the trial belongs to (a queued trial carries it; a local one ignores it). */
  trial?: { jobId: string; index: number };
}

/**
 * A trained trial: its weights and history, the TensorFlow.js probabilities of the rows it was asked for, and the
 * trainer replica that trained it.
 */
export type TrainedTrial = TrainedDenseClassifier & { worker?: string };

/** Where trials are trained: worker threads in production, the calling thread in unit specs. */
export abstract class TrialTrainer {
  /** Trials that may train at once. */
  abstract readonly concurrency: number;
  /** The TensorFlow.js backend the trials run on (starts a worker if none has). */
  abstract backend(): Promise<BackendName>;
  abstract train(request: TrialRequest): Promise<TrainedTrial>;
}

/** Trials in the trainer's worker threads (TRAINER_WORKERS, TRIAL_MEMORY_MB, TRIAL_TIMEOUT_S). */
@Injectable()
export class PooledTrialTrainer extends TrialTrainer implements OnApplicationShutdown {
  private readonly pool: TrialPool;
  private readonly logger = new Logger('TrialPool');
  private readonly replica: string;

  constructor(@Inject(TrainerConfig) config: TrainerConfigValues) {
    super();
    this.replica = config.TRAINER_REPLICA_ID;
    this.pool = new TrialPool({
      workers: config.TRAINER_WORKERS,
      backend: config.TF_BACKEND,
      memoryMb: config.TRIAL_MEMORY_MB,
      trialTimeoutS: config.TRIAL_TIMEOUT_S,
      log: (message) => this.logger.log(message),
    });
  }

  get concurrency(): number {
    return this.pool.size;
  }

  backend(): Promise<BackendName> {
    return this.pool.warm();
  }

  /** Trains one task in a worker thread and answers the worker's output as it is (for a queued trial's reply). */
  runTask(
    task: TrialTask,
    onEpoch: (metrics: EpochMetrics) => void,
    signal?: AbortSignal,
  ): Promise<TrialOutput> {
    return this.pool.run({ task, onEpoch, signal });
  }

  async train({ onEpoch, signal, trial: _trial, ...task }: TrialRequest): Promise<TrainedTrial> {
    // Epoch reports arrive from the worker as messages: published one after another, and a failed report fails the
    // trial once it ends (as it would on the calling thread), never as an unhandled rejection.
    let reported: Promise<void> = Promise.resolve();
    const output = await this.pool.run({
      task,
      signal,
      onEpoch: (metrics) => {
        reported = reported.then(() => onEpoch?.(metrics));
        reported.catch(() => undefined);
      },
    });
    await reported;
    return trainedFromOutput(output, task.predictRows, this.replica);
  }

  /** Last: the running jobs were stopped (and handed back) by GracefulStop first. */
  onApplicationShutdown(): Promise<void> {
    return this.pool.close();
  }
}

/** A worker's output as a trained trial: the probabilities of its predictRows are all it can score. */
export function trainedFromOutput(
  output: TrialOutput,
  predictRows: number[][],
  worker: string,
): TrainedTrial {
  return {
    worker,
    spec: output.spec,
    history: output.history,
    stoppedEarly: output.stoppedEarly,
    bestEpoch: output.bestEpoch,
    // The worker scored the rows it was given (the test split) before its tensors were freed.
    predictProba: async (rows) => {
      if (rows !== predictRows) {
        throw new Error('a trial trained in a worker has the probabilities of its predictRows only');
      }
      return output.predictions;
    },
    dispose: () => undefined,
  };
}

/** Trials on the calling thread: for specs and tools, never in a process that serves requests. */
export class InProcessTrialTrainer extends TrialTrainer {
  readonly concurrency = 1;

  constructor(private readonly preference: BackendPreference = 'auto') {
    super();
  }

  async backend(): Promise<BackendName> {
    return (await loadTensorFlow(this.preference)).backend;
  }

  async train({ predictRows: _rows, trial: _trial, ...input }: TrialRequest): Promise<TrainedTrial> {
    return trainDenseClassifier(input, await loadTensorFlow(this.preference));
  }
}
