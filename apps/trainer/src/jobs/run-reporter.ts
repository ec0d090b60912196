import { EventNames, EventPayloadInput } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';

type ParamValue = string | number | boolean;

/**
 * Publishes a job's run events with its correlation id. The registry builds runs and metrics from them, so the job
 * makes progress while the registry is down; each publish waits for the broker's confirm.
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
      startedAt: new Date().toISOString(),
    });
  }

  progress(runId: string, step: number, metrics: Record<string, number>): Promise<string> {
    const finite = Object.fromEntries(Object.entries(metrics).filter(([, value]) => Number.isFinite(value)));
    return this.publish(EventNames.TrainingProgress, {
      runId,
      step,
      metrics: finite,
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
    const metrics = Object.fromEntries(
      Object.entries(outcome.metrics ?? {}).filter(([, value]) => Number.isFinite(value)),
    );
    return this.publish(EventNames.RunFinished, {
      runId,
      status: outcome.status,
      metrics,
      tags: outcome.tags ?? {},
      ...(outcome.error !== undefined ? { error: outcome.error.slice(0, 4000) } : {}),
      endedAt: new Date().toISOString(),
      ...(outcome.step !== undefined ? { step: outcome.step } : {}),
    });
  }

  registered(
    payload: Omit<EventPayloadInput<typeof EventNames.ModelRegistered>, 'registeredAt'>,
  ): Promise<string> {
    return this.publish(EventNames.ModelRegistered, { ...payload, registeredAt: new Date().toISOString() });
  }

  private publish<N extends Parameters<EventBus['publish']>[0]>(
    type: N,
    payload: EventPayloadInput<N>,
  ): Promise<string> {
    return this.bus.publish(type, payload, { correlationId: this.correlationId });
  }
}
