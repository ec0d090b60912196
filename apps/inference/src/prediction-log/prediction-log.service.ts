import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventNames } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { AppMetricsRegistry, counter, gauge } from '@sepal/observability';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { ScoredRequest } from './logged-rows';
import { PendingEvents } from './pending-events';

/** How long one flush may wait for the broker before its rows count as dropped (the log never waits longer). */
const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * The gateway's side of the prediction log: a sample of scored requests (PREDICTION_LOG_SAMPLE, per request: a batch
 * is logged whole or not at all) is copied into a bounded queue (PREDICTION_LOG_QUEUE rows), already as the columns of
 * the events that carry it (see PendingEvents), and shipped in
 * predictions.logged events of at most PREDICTION_LOG_BATCH rows every PREDICTION_LOG_FLUSH_MS to the data service,
 * which stores it. Recording is a copy and a push: it never waits and never throws. A full queue, or a flush the bus
 * refuses or does not confirm in time, drops rows and counts them (sepal_prediction_log_dropped_rows_total).
 */
@Injectable()
export class PredictionLog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PredictionLog');
  private readonly queue: PendingEvents;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly shipped = counter({
    name: 'sepal_prediction_log_shipped_rows_total',
    help: 'Logged prediction rows the bus confirmed (predictions.logged).',
  });
  private readonly droppedRows = counter<'reason'>({
    name: 'sepal_prediction_log_dropped_rows_total',
    help: 'Sampled prediction rows not logged: queue_full (PREDICTION_LOG_QUEUE) or bus (refused or unconfirmed).',
    labelNames: ['reason'],
  });
  private readonly depth = gauge({
    name: 'sepal_prediction_log_queue_rows',
    help: 'Prediction rows waiting in the gateway to be shipped to the prediction log.',
  });

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly bus: EventBus,
    registry: AppMetricsRegistry = new AppMetricsRegistry(),
  ) {
    this.queue = new PendingEvents(config.PREDICTION_LOG_QUEUE, config.PREDICTION_LOG_BATCH);
    registry.addMetricsOf(this);
  }

  onModuleInit(): void {
    if (this.config.PREDICTION_LOG_SAMPLE === 0) return;
    this.timer = setInterval(() => void this.flush(), this.config.PREDICTION_LOG_FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Called once per scored request on the hot path: a coin toss and, if sampled, its rows copied onto the queue. */
  record(scored: ScoredRequest): void {
    const sample = this.config.PREDICTION_LOG_SAMPLE;
    if (sample === 0 || (sample < 1 && Math.random() >= sample)) return;
    if (!this.queue.offer(scored)) this.droppedRows.labels('queue_full').inc(scored.parsed.rows);
  }

  /** Ships everything queued now, in batches; one flush at a time (a slow broker makes the queue fill, then drop). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
      this.depth.set(this.queue.size);
    });
    return this.flushing;
  }

  /** Rows queued now (for tests and the gauge). */
  get queuedRows(): number {
    return this.queue.size;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      // Requests in flight run between two events: a flush is many short tasks, never one long one.
      await new Promise((resolve) => setImmediate(resolve));
      const event = this.queue.take();
      if (event === null) return;
      try {
        await publishWithin(
          this.bus.publish(EventNames.PredictionsLogged, { groups: event.groups }),
          PUBLISH_TIMEOUT_MS,
        );
        this.shipped.inc(event.rows);
      } catch (error) {
        this.droppedRows.labels('bus').inc(event.rows);
        this.logger.warn(
          `${event.rows} logged predictions dropped: ${(error as Error).message} (counted in sepal_prediction_log_dropped_rows_total)`,
        );
        return;
      }
    }
  }
}

function publishWithin<T>(publishing: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bus did not confirm within ${ms} ms`)), ms);
  });
  return Promise.race([publishing, timeout]).finally(() => clearTimeout(timer));
}
