import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventNames, MAX_LOGGED_PREDICTIONS_PER_EVENT, type LoggedGroup } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { AppMetricsRegistry, counter, gauge } from '@sepal/observability';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import {
  appendRows,
  emptyGroup,
  LoggedHeaders,
  PendingRows,
  pendingRows,
  ScoredRequest,
} from './logged-rows';
import { BoundedRowQueue } from './prediction-log-queue';

/** How long one flush may wait for the broker before its rows count as dropped (the log never waits longer). */
const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * The gateway's side of the prediction log: a sample of scored requests (PREDICTION_LOG_SAMPLE, per request: a batch
 * is logged whole or not at all) is copied into a bounded queue (PREDICTION_LOG_QUEUE rows) and shipped in
 * predictions.logged events of at most PREDICTION_LOG_BATCH rows every PREDICTION_LOG_FLUSH_MS to the data service,
 * which stores it. Recording is a copy and a push: it never waits and never throws. A full queue, or a flush the bus
 * refuses or does not confirm in time, drops rows and counts them (sepal_prediction_log_dropped_rows_total).
 */
@Injectable()
export class PredictionLog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PredictionLog');
  private readonly queue: BoundedRowQueue<PendingRows>;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly headers = new LoggedHeaders();
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
    this.queue = new BoundedRowQueue(config.PREDICTION_LOG_QUEUE);
    registry.add(this.shipped, this.droppedRows, this.depth);
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

  /** Called once per scored request on the hot path: a coin toss and, if sampled, a copy into the queue. */
  record(scored: ScoredRequest): void {
    const sample = this.config.PREDICTION_LOG_SAMPLE;
    if (sample === 0 || (sample < 1 && Math.random() >= sample)) return;
    const pending = pendingRows(scored);
    if (!this.queue.offer(pending)) this.droppedRows.labels('queue_full').inc(pending.rows);
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
      // Requests in flight run between two batches: a flush is many short tasks, never one long one.
      await new Promise((resolve) => setImmediate(resolve));
      const taken = this.queue.take(this.config.PREDICTION_LOG_BATCH);
      let left = taken.reduce((sum, pending) => sum + pending.rows, 0);
      // One event holds at most MAX_LOGGED_PREDICTIONS_PER_EVENT rows, one group per model version.
      for (const groups of eventsOf(taken, this.headers)) {
        const rows = groups.reduce((sum, group) => sum + group.predictionIds.length, 0);
        try {
          await publishWithin(this.bus.publish(EventNames.PredictionsLogged, { groups }), PUBLISH_TIMEOUT_MS);
          this.shipped.inc(rows);
          left -= rows;
        } catch (error) {
          this.queue.lost(left);
          this.droppedRows.labels('bus').inc(left);
          this.logger.warn(
            `${left} logged predictions dropped: ${(error as Error).message} (counted in sepal_prediction_log_dropped_rows_total)`,
          );
          return;
        }
      }
    }
  }
}

/**
 * The rows of pending requests packed into events: rows of one model version share a group, and an event holds at
 * most MAX_LOGGED_PREDICTIONS_PER_EVENT rows (one request may hold more, and is split).
 */
export function eventsOf(requests: readonly PendingRows[], headers: LoggedHeaders): LoggedGroup[][] {
  const events: LoggedGroup[][] = [];
  let current = new Map<string, LoggedGroup>();
  let rows = 0;
  for (const request of requests) {
    const { info } = request;
    const key = `${info.name}\u0000${info.version}\u0000${info.sha256}`;
    let done = 0;
    while (done < request.rows) {
      if (rows === MAX_LOGGED_PREDICTIONS_PER_EVENT) {
        events.push([...current.values()]);
        current = new Map();
        rows = 0;
      }
      let group = current.get(key);
      if (!group) {
        group = emptyGroup(info, headers.of(request.signature), request.output.values !== undefined);
        current.set(key, group);
      }
      const to = Math.min(request.rows, done + MAX_LOGGED_PREDICTIONS_PER_EVENT - rows);
      appendRows(group, request, done, to);
      rows += to - done;
      done = to;
    }
  }
  if (rows > 0) events.push([...current.values()]);
  return events;
}

function publishWithin<T>(publishing: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bus did not confirm within ${ms} ms`)), ms);
  });
  return Promise.race([publishing, timeout]).finally(() => clearTimeout(timer));
}
