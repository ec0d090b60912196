import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { CnnClassifierSpec, TreeEnsembleModel } from '@sepal/ml';
import { trainCnnTask } from '../training/cnn-trial';
import { trainDenseClassifier, type TrainedDenseClassifier } from '../training/dense-classifier';
import { trainTreeTrial } from '../training/tree-trial';
import { loadTensorFlow, type BackendName, type BackendPreference } from '../training/tf-backend';
import type { EpochMetrics } from '../training/training-input';
import { TrainerConfig, type TrainerConfigValues } from '../trainer.config';
import type { CnnTrialOutput, TreeTrialOutput, TrialOutput, TrialTask } from './trial-protocol';
import { TrialPool } from './trial-pool';

/**
 * The row list a CNN trial's test probabilities are asked for with (see cnnTrial): its test images travel as pixels,
 * and an image sweep has no encoded rows.
 */
export const CNN_PREDICT_ROWS: number[][] = [];

export type TrialRequest = TrialTask & {
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  signal?: AbortSignal;
  /** Which job and grid index the trial belongs to (a queued trial carries it; a local one ignores it). */
  trial?: { jobId: string; index: number };
};

/**
 * A trained dense trial: its weights and history, the TensorFlow.js probabilities of the rows it was asked for, and
 * the trainer replica that trained it (when it was queued).
 */
export type TrainedDenseTrial = TrainedDenseClassifier & {
  family: 'dense';
  worker?: string;
  /** A regressor's values of the validation rows (one column), when the trial scored them. */
  valPredictions?: number[][];
};

/**
 * A trained tree trial (or part of a forest): the ensemble, and the scores of the validation rows and of the rows it
 * was asked for (see TreeTrialOutput); predictProba answers the probabilities of those rows.
 */
export interface TrainedTreeTrial {
  family: TreeTrialOutput['family'];
  model: TreeEnsembleModel;
  valScores: number[][];
  predictScores: number[][];
  predictProba(rows: number[][]): Promise<number[][]>;
  dispose(): void;
}

/**
 * A trained CNN trial: its layers as plain numbers, its history, and the TensorFlow.js probabilities of the test
 * images it was given; predictProba answers them for the token it was trained with (see cnnTrial).
 */
export interface TrainedCnnTrial {
  family: 'cnn';
  spec: CnnClassifierSpec;
  history: CnnTrialOutput['history'];
  stoppedEarly: boolean;
  bestEpoch: number;
  predictions: number[][];
  predictProba(rows: number[][]): Promise<number[][]>;
  dispose(): void;
}

export type TrainedTrial = TrainedDenseTrial | TrainedTreeTrial | TrainedCnnTrial;

/**
 * A CNN output as a trained trial. Its test images travel beside the rows the other families score, so the pipeline
 * asks for their probabilities with the same (empty) row list it gave the sweep: that identity is the token.
 */
export function cnnTrial(output: Omit<CnnTrialOutput, 'backend'>, predictRows: number[][]): TrainedCnnTrial {
  return {
    family: 'cnn',
    spec: output.spec,
    history: output.history,
    stoppedEarly: output.stoppedEarly,
    bestEpoch: output.bestEpoch,
    predictions: output.predictions,
    predictProba: async (rows) => {
      if (rows !== predictRows) throw new Error('a CNN trial has the probabilities of its test images only');
      return output.predictions;
    },
    dispose: () => undefined,
  };
}

/** A tree output as a trained trial; predictProba answers for `predictRows` only (the rows the worker scored). */
export function treeTrial(
  output: Omit<TreeTrialOutput, 'backend'>,
  predictRows: number[][],
): TrainedTreeTrial {
  const scale = output.family === 'forest' ? 1 / output.model.trees.length : 1;
  return {
    family: output.family,
    model: output.model,
    valScores: output.valScores,
    predictScores: output.predictScores,
    predictProba: async (rows) => {
      if (rows !== predictRows) throw new Error('a tree trial has the probabilities of its predictRows only');
      return output.predictScores.map((row) => row.map((value) => value * scale));
    },
    dispose: () => undefined,
  };
}

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

  constructor(@Inject(TrainerConfig) config: TrainerConfigValues) {
    super();
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

  async train(request: TrialRequest): Promise<TrainedTrial> {
    const { onEpoch, signal, trial: _trial, ...task } = request;
    // Epoch reports arrive from the worker as messages: published one after another, and a failed report fails the
    // trial once it ends (as it would on the calling thread), never as an unhandled rejection.
    let reported: Promise<void> = Promise.resolve();
    const output = await this.pool.run({
      task: task as TrialTask,
      signal,
      onEpoch: (metrics) => {
        reported = reported.then(() => onEpoch?.(metrics));
        reported.catch(() => undefined);
      },
    });
    await reported;
    return trainedFromOutput(output, 'predictRows' in task ? task.predictRows : CNN_PREDICT_ROWS);
  }

  /** Last: the running jobs were stopped (and handed back) by GracefulStop first. */
  onApplicationShutdown(): Promise<void> {
    return this.pool.close();
  }
}

/** A worker's output as a trained trial; it scored its predictRows only (the test split) before freeing its tensors. */
export function trainedFromOutput(
  output: TrialOutput,
  predictRows: number[][],
  worker?: string,
): TrainedTrial {
  if (output.family === 'cnn') return cnnTrial(output, CNN_PREDICT_ROWS);
  if (output.family !== 'dense') return treeTrial(output, predictRows);
  return {
    family: 'dense',
    ...(worker !== undefined ? { worker } : {}),
    spec: output.spec,
    history: output.history,
    stoppedEarly: output.stoppedEarly,
    bestEpoch: output.bestEpoch,
    ...(output.valPredictions ? { valPredictions: output.valPredictions } : {}),
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

  async train(request: TrialRequest): Promise<TrainedTrial> {
    if (request.family === 'cnn') {
      const { onEpoch, signal, trial: _trial, ...task } = request;
      const output = await trainCnnTask(task, await loadTensorFlow(this.preference), { onEpoch, signal });
      return cnnTrial(output, CNN_PREDICT_ROWS);
    }
    if (request.family !== 'dense') {
      request.signal?.throwIfAborted();
      return treeTrial(trainTreeTrial(request), request.predictRows);
    }
    const { predictRows: _rows, family: _family, ...input } = request;
    const trained = await trainDenseClassifier(input, await loadTensorFlow(this.preference));
    const valPredictions = input.task === 'regression' ? await trained.predictProba(input.xVal) : undefined;
    return Object.assign(trained, { family: 'dense' as const }, valPredictions ? { valPredictions } : {});
  }
}
