import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEnvelope, EventNames, TRIALS_QUEUE, type TrialFinished } from '@sepal/contracts';
import { EventBus, RequeueDelivery, type Subscription } from '@sepal/messaging';
import { errorMessage, isTrainerStopping } from '../jobs/job-errors';
import { RunningJobs } from '../jobs/running-jobs.service';
import type { EpochMetrics } from '../training/training-input';
import type { BackendName } from '../training/tf-backend';
import { TrainerConfig, type TrainerConfigValues } from '../trainer.config';
import { TrialFailedError } from './trial-pool';
import type { TrialOutput, TrialTask } from './trial-protocol';
import {
  PooledTrialTrainer,
  trainedFromOutput,
  TrialTrainer,
  type TrainedTrial,
  type TrialRequest,
} from './trial-trainer.service';

/** Each replica hears the replies of the trials (its own broadcast queue) and keeps those of the trials it awaits. */
export const TRIAL_REPLIES_QUEUE = 'trainer.trial-replies';

interface AwaitedTrial {
  onEpoch(metrics: EpochMetrics): void;
  settle(reply: TrialFinished): void;
}

/**
 * Trials as messages on the durable work queue trainer.trials (TRAINER_TRIALS=queue): every trainer replica's worker
 * threads take trials from it, whoever runs the job, so one grid trains on every replica. The job's replica publishes
 * each trial (all of them at once: the queue spreads them) and awaits its trial.finished; a worker replica publishes
 * the epochs and the outcome, then acks, so a trial lost with its replica is redelivered to another. The trial task
 * travels as an opaque JSON object (bounded by TRIAL_MESSAGE_MAX_BYTES); the worker threads check it.
 */
@Injectable()
export class QueuedTrialTrainer extends TrialTrainer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TrialQueue');
  private readonly awaited = new Map<string, AwaitedTrial>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    private readonly bus: EventBus,
    private readonly local: PooledTrialTrainer,
    private readonly running: RunningJobs,
  ) {
    super();
  }

  /** Every trial of a grid is queued at once; the replicas' workers decide how many train side by side. */
  get concurrency(): number {
    return this.config.TRAIN_MAX_TRIALS;
  }

  backend(): Promise<BackendName> {
    return this.local.backend();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriptions.push(
      await this.bus.subscribe(
        {
          queue: TRIAL_REPLIES_QUEUE,
          patterns: [EventNames.TrialProgress, EventNames.TrialFinished],
          broadcast: true,
        },
        async (envelope) => this.onReply(envelope),
      ),
      // As many trials at once as this replica has worker threads; a failing trial is reported, never retried here.
      await this.bus.subscribe(
        {
          queue: TRIALS_QUEUE,
          patterns: [EventNames.TrialRequested],
          maxRetries: 0,
          prefetch: this.config.TRAINER_WORKERS,
        },
        (envelope) => this.trainQueued(envelope as EventEnvelope<typeof EventNames.TrialRequested>),
      ),
    );
  }

  /** First on shutdown (beside GracefulStop): no new trial is taken; the ones training go back to the queue. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.stopConsuming()));
  }

  async train(request: TrialRequest): Promise<TrainedTrial> {
    // A CNN trial's images are typed arrays, not JSON: it trains on this replica's worker threads.
    if (request.family === 'cnn') return this.local.train(request);
    const { onEpoch, signal, trial, ...task } = request;
    signal?.throwIfAborted();
    const bytes = Buffer.byteLength(JSON.stringify(task));
    if (bytes > this.config.TRIAL_MESSAGE_MAX_BYTES) {
      throw new TrialFailedError(
        `the trial's task is ${bytes} bytes, over the limit of ${this.config.TRIAL_MESSAGE_MAX_BYTES} ` +
          '(TRIAL_MESSAGE_MAX_BYTES): train it with TRAINER_TRIALS=pool or raise the limit',
      );
    }
    const trialId = randomUUID();
    let reported: Promise<void> = Promise.resolve();
    const reply = new Promise<TrialFinished>((resolve, reject) => {
      const timeoutS = this.config.TRIAL_QUEUE_TIMEOUT_S;
      const deadline = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        this.awaited.delete(trialId);
        reject(
          new TrialFailedError(
            `no replica reported the queued trial within TRIAL_QUEUE_TIMEOUT_S=${timeoutS}: check that trainers ` +
              `consume ${TRIALS_QUEUE} and its dead-letter queue`,
          ),
        );
      }, timeoutS * 1000);
      deadline.unref();
      const onAbort = () => {
        clearTimeout(deadline);
        this.awaited.delete(trialId);
        reject(new TrialFailedError(`the trial was cancelled: ${errorMessage(signal?.reason)}`, true));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.awaited.set(trialId, {
        // In order, without holding up the reply queue: the child run's epochs are published one after another.
        onEpoch: (metrics) => {
          reported = reported.then(() => onEpoch?.(metrics));
          reported.catch(() => undefined);
        },
        settle: (finished) => {
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
          this.awaited.delete(trialId);
          resolve(finished);
        },
      });
    });
    await this.bus.publish(EventNames.TrialRequested, {
      jobId: trial?.jobId ?? 'unknown',
      trialId,
      index: trial?.index ?? 0,
      task: task as unknown as Record<string, unknown>,
      requestedAt: new Date().toISOString(),
    });
    const finished = await reply;
    await reported;
    if (finished.status === 'failed' || !finished.output) {
      throw new TrialFailedError(finished.error ?? `the trial failed on ${finished.worker}`);
    }
    return trainedFromOutput(
      fromJson(finished.output),
      'predictRows' in task ? task.predictRows : [],
      finished.worker,
    );
  }

  private async onReply(envelope: EventEnvelope): Promise<void> {
    if (envelope.type === EventNames.TrialProgress) {
      const { trialId, metrics } = (envelope as EventEnvelope<typeof EventNames.TrialProgress>).payload;
      this.awaited.get(trialId)?.onEpoch(metrics as unknown as EpochMetrics);
    } else if (envelope.type === EventNames.TrialFinished) {
      const finished = (envelope as EventEnvelope<typeof EventNames.TrialFinished>).payload;
      // A trial redelivered after its first replica had already replied is settled once.
      this.awaited.get(finished.trialId)?.settle(finished);
    }
  }

  /** A worker replica's side: trains the trial, publishes its epochs and outcome, and only then lets it be acked. */
  private async trainQueued(envelope: EventEnvelope<typeof EventNames.TrialRequested>): Promise<void> {
    const { jobId, trialId, index, task } = envelope.payload;
    const ref = { jobId, trialId, index };
    const controller = this.running.startTrial(jobId);
    const started = performance.now();
    let progress: Promise<unknown> = Promise.resolve();
    let outcome: Pick<TrialFinished, 'status' | 'output' | 'error'>;
    try {
      const output = await this.local.runTask(
        task as unknown as TrialTask,
        (metrics) => {
          progress = progress
            .then(() =>
              this.bus.publish(
                EventNames.TrialProgress,
                { ...ref, metrics: { ...metrics } },
                { correlationId: envelope.correlationId },
              ),
            )
            .catch(() => undefined);
        },
        controller.signal,
      );
      outcome = { status: 'finished', output: toJson(output) };
    } catch (error) {
      if (isTrainerStopping(controller.signal)) {
        throw new RequeueDelivery(`trial ${index + 1} of job ${jobId}: the trainer is stopping`);
      }
      outcome = { status: 'failed', error: errorMessage(error).slice(0, 4000) };
    } finally {
      this.running.endTrial(jobId, controller);
    }
    await progress;
    await this.bus.publish(
      EventNames.TrialFinished,
      {
        ...ref,
        ...outcome,
        worker: this.config.TRAINER_REPLICA_ID,
        seconds: (performance.now() - started) / 1000,
      },
      { correlationId: envelope.correlationId },
    );
    if (outcome.status === 'failed')
      this.logger.warn(`trial ${index + 1} of job ${jobId} failed: ${outcome.error}`);
  }
}

/** A worker's output as JSON: the model's Float32Array weights become plain numbers (each float32 is a double). */
function toJson(output: TrialOutput): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(output, (_key, value: unknown) =>
      ArrayBuffer.isView(value) ? Array.from(value as Float32Array) : value,
    ),
  ) as Record<string, unknown>;
}

/** The reverse of toJson: a dense model's weights as Float32Arrays again (a tree ensemble is plain JSON). */
function fromJson(json: Record<string, unknown>): TrialOutput {
  const output = json as unknown as TrialOutput;
  if (output.family !== 'dense') return output;
  const layers = output.spec.layers.map((layer) => ({
    ...layer,
    kernel: Float32Array.from(layer.kernel as unknown as number[]),
    bias: Float32Array.from(layer.bias as unknown as number[]),
  }));
  return { ...output, spec: { ...output.spec, layers } } as TrialOutput;
}
