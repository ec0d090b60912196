import { Logger } from '@nestjs/common';
import {
  EventNames,
  EventPayloadInput,
  MAX_METRIC_KEY_LENGTH,
  MAX_METRICS_PER_BATCH,
  MAX_PARAM_VALUE_LENGTH,
  MAX_TAG_VALUE_LENGTH,
} from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';

type ParamValue = string | number | boolean;

/** A run name as long as training.started takes. */
const MAX_RUN_NAME_LENGTH = 200;
const logger = new Logger('RunReporter');

/** Text cut to `max` characters, the last one an ellipsis, so a cut value shows it was cut. */
export function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Metrics as an event may carry them (see @sepal/contracts, tracking-fields): finite values only, keys within the
 * registry's length, at most one REST batch of them; what is left out is logged, never refused by the registry.
 */
export function eventMetrics(runId: string, metrics: Record<string, number>): Record<string, number> {
  const entries = Object.entries(metrics).filter(([, value]) => Number.isFinite(value));
  const fitting = entries.filter(([key]) => key.length >= 1 && key.length <= MAX_METRIC_KEY_LENGTH);
  const kept = fitting.slice(0, MAX_METRICS_PER_BATCH);
  if (kept.length < fitting.length || fitting.length < entries.length) {
    logger.warn(
      `run ${runId}: ${entries.length - kept.length} of ${entries.length} metrics left out of its event ` +
        `(keys of 1 to ${MAX_METRIC_KEY_LENGTH} characters, at most ${MAX_METRICS_PER_BATCH} per event)`,
    );
  }
  return Object.fromEntries(kept);
}

/** Tag values cut to the registry's length (the trainer's tag keys are its own, and short). */
export function eventTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tags).map(([key, value]) => [key, clipText(value, MAX_TAG_VALUE_LENGTH)]),
  );
}

function eventParams(params: Record<string, ParamValue>): Record<string, ParamValue> {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [
      key,
      typeof value === 'string' ? clipText(value, MAX_PARAM_VALUE_LENGTH) : value,
    ]),
  );
}

/**
 * Publishes a job's run events with its correlation id. The registry builds runs and metrics from them, so the job
 * makes progress while the registry is down; each publish waits for the broker's confirm. Every event is fitted to the
 * bounds the registry holds events to (a longer tag or param value is cut, an over-long metric key left out), so the
 * trainer's own events are never dead-lettered for their size.
 */
export class RunReporter {
  constructor(
    private readonly bus: EventBus,
    private readonly correlationId: string,
    private readonly common: { experiment: string; dataset: string; datasetVersion: string; backend: string },
  ) {}

  started(run: {
    runId: string;
    parentRunId: string | null;
    runName: string;
    params: Record<string, ParamValue>;
    tags: Record<string, string>;
  }): Promise<string> {
    return this.publish(EventNames.TrainingStarted, {
      ...this.common,
      ...run,
      runName: clipText(run.runName, MAX_RUN_NAME_LENGTH),
      params: eventParams(run.params),
      tags: eventTags(run.tags),
      startedAt: new Date().toISOString(),
    });
  }

  progress(runId: string, step: number, metrics: Record<string, number>): Promise<string> {
    return this.publish(EventNames.TrainingProgress, {
      runId,
      step,
      metrics: eventMetrics(runId, metrics),
      timestamp: new Date().toISOString(),
    });
  }

  finished(
    runId: string,
    outcome: {
      status: 'finished' | 'failed' | 'killed';
      metrics?: Record<string, number>;
      tags?: Record<string, string>;
      error?: string;
      /** Where the final metrics go (see RunFinished.step). */
      step?: number;
    },
  ): Promise<string> {
    return this.publish(EventNames.RunFinished, {
      runId,
      status: outcome.status,
      metrics: eventMetrics(runId, outcome.metrics ?? {}),
      tags: eventTags(outcome.tags ?? {}),
      ...(outcome.error !== undefined ? { error: outcome.error.slice(0, 4000) } : {}),
      endedAt: new Date().toISOString(),
      ...(outcome.step !== undefined ? { step: outcome.step } : {}),
    });
  }

  registered(
    payload: Omit<EventPayloadInput<typeof EventNames.ModelRegistered>, 'registeredAt'>,
  ): Promise<string> {
    return this.publish(EventNames.ModelRegistered, {
      ...payload,
      metrics: eventMetrics(payload.runId, payload.metrics ?? {}),
      registeredAt: new Date().toISOString(),
    });
  }

  private publish<N extends Parameters<EventBus['publish']>[0]>(
    type: N,
    payload: EventPayloadInput<N>,
  ): Promise<string> {
    return this.bus.publish(type, payload, { correlationId: this.correlationId });
  }
}
