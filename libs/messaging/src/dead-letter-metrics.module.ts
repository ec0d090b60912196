import { DynamicModule, Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { Gauge, Registry } from 'prom-client';
import { AppMetricsRegistry } from '@sepal/observability/app-metrics.registry';
import { gauge } from '@sepal/observability/metric-factory';
import { EventBus } from './event-bus';

export const DEAD_LETTER_METRIC = 'sepal_dead_letter_messages';
/** A scrape must not hang on a slow broker: a count not read within this time is left out of that scrape. */
const COUNT_TIMEOUT_MS = 2000;

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

/** Reads the dead-letter count of each of `queues` through `bus`; a queue not read in time is left out. */
export async function readDeadLetterCounts(
  bus: EventBus,
  queues: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (!bus.isConnected()) return counts;
  await Promise.all(
    queues.map(async (queue) => {
      try {
        counts.set(queue, await withTimeout(bus.deadLetterCount(queue), COUNT_TIMEOUT_MS));
      } catch (error) {
        logger.warn(`dead letters of ${queue} not counted: ${(error as Error).message}`);
      }
    }),
  );
  return counts;
}

/**
 * sepal_dead_letter_messages{queue}: messages waiting in <queue>.dlq for each of `queues` (logical names, e.g.
 * 'trainer.jobs'), read through `bus` (RabbitMQ's queue depth, or the in-process broker's) each time `registry` is
 * scraped. A closed bus reports nothing rather than failing the scrape.
 */
export function registerDeadLetterGauge(
  registry: Registry,
  bus: EventBus,
  queues: readonly string[],
): Gauge<'queue'> {
  const names = [...new Set(queues)];
  const deadLetters: Gauge<'queue'> = gauge({
    name: DEAD_LETTER_METRIC,
    help: 'Messages in the dead-letter queue <queue>.dlq: they failed every retry or were invalid.',
    labelNames: ['queue'] as const,
    collect: async () => {
      const counts = await readDeadLetterCounts(bus, names);
      deadLetters.reset();
      for (const [queue, count] of counts) deadLetters.set({ queue }, count);
    },
  });
  registry.registerMetric(deadLetters);
  return deadLetters;
}

export const DEAD_LETTER_QUEUES = Symbol('DEAD_LETTER_QUEUES');

/** Reports the dead letters of the app's queues at its `/metrics`. */
@Injectable()
class DeadLetterWatcher {
  constructor(
    @Inject(EventBus) bus: EventBus,
    @Inject(DEAD_LETTER_QUEUES) queues: readonly string[],
    registry: AppMetricsRegistry,
  ) {
    registerDeadLetterGauge(registry, bus, queues);
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
