import {
  DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { gauge } from '@sepal/observability/metric-factory';
import { EventBus } from './event-bus';

export const DEAD_LETTER_METRIC = 'sepal_dead_letter_messages';
/** A scrape must not hang on a slow broker: a count not read within this time is left out of that scrape. */
const COUNT_TIMEOUT_MS = 2000;

/*
 * sepal_dead_letter_messages{queue}: messages waiting in <queue>.dlq, read from the bus (RabbitMQ's queue depth,
 * or the in-process broker's) each time Prometheus scrapes. Process-wide like prom-client's registry: each app
 * watches the queues it consumes; several buses in one process (embedded mode, tests) are all read.
 */
/** bus → queue → how many watchers asked for it. */
const watched = new Map<EventBus, Map<string, number>>();
const logger = new Logger('DeadLetterMetrics');

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Reads every watched queue's dead-letter count; the same queue seen by several buses keeps its largest count. */
export async function readDeadLetterCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const reads = [...watched].flatMap(([bus, queues]) =>
    bus.isConnected()
      ? [...queues.keys()].map(async (queue) => {
          try {
            const count = await withTimeout(bus.deadLetterCount(queue), COUNT_TIMEOUT_MS);
            counts.set(queue, Math.max(count, counts.get(queue) ?? 0));
          } catch (error) {
            logger.warn(`dead letters of ${queue} not counted: ${(error as Error).message}`);
          }
        })
      : [],
  );
  await Promise.all(reads);
  return counts;
}

/** Registers the gauge (once per process). */
export function deadLetterGauge() {
  return gauge({
    name: DEAD_LETTER_METRIC,
    help: 'Messages in the dead-letter queue <queue>.dlq: they failed every retry or were invalid.',
    labelNames: ['queue'] as const,
    async collect() {
      const counts = await readDeadLetterCounts();
      this.reset();
      for (const [queue, count] of counts) this.set({ queue }, count);
    },
  });
}

/**
 * Exposes the dead-letter counts of `queues` (logical names, e.g. 'trainer.jobs') read through `bus`.
 * Returns a function that stops watching them (call it before closing the bus).
 */
export function watchDeadLetters(bus: EventBus, queues: readonly string[]): () => void {
  deadLetterGauge();
  const mine = watched.get(bus) ?? new Map<string, number>();
  watched.set(bus, mine);
  const names = [...new Set(queues)];
  for (const queue of names) mine.set(queue, (mine.get(queue) ?? 0) + 1);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const queue of names) {
      const left = (mine.get(queue) ?? 1) - 1;
      if (left > 0) mine.set(queue, left);
      else mine.delete(queue);
    }
    if (mine.size === 0 && watched.get(bus) === mine) watched.delete(bus);
  };
}

export const DEAD_LETTER_QUEUES = Symbol('DEAD_LETTER_QUEUES');

@Injectable()
class DeadLetterWatcher implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void) | null = null;

  constructor(
    @Inject(EventBus) private readonly bus: EventBus,
    @Inject(DEAD_LETTER_QUEUES) private readonly queues: readonly string[],
  ) {}

  onModuleInit(): void {
    this.stop = watchDeadLetters(this.bus, this.queues);
  }

  onModuleDestroy(): void {
    this.stop?.();
    this.stop = null;
  }
}

/** `DeadLetterMetricsModule.forQueues(['trainer.jobs'])` in an app module: the queues that app consumes. */
@Module({})
export class DeadLetterMetricsModule {
  static forQueues(queues: readonly string[]): DynamicModule {
    return {
      module: DeadLetterMetricsModule,
      providers: [{ provide: DEAD_LETTER_QUEUES, useValue: [...queues] }, DeadLetterWatcher],
    };
  }
}
