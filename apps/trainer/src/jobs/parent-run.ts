import { MAX_PARAM_VALUE_LENGTH, type EventEnvelope, type EventNames } from '@sepal/contracts';
import type { EventBus } from '@sepal/messaging';
import type { RunFacts, RunOpener } from '../pipeline/pipeline-ports';
import { RunReporter } from './run-reporter';

/** Stands for the dataset version of a run whose version could not be resolved. */
export const UNRESOLVED_VERSION = '0'.repeat(64);

export interface DeliveryFacts {
  redelivered: boolean;
  attempt: number;
}

/**
 * One job's parent run (the sweep): opened by the pipeline once the job's data and backend are known, closed as
 * finished by its last step or, when a step fails after it was opened, as failed by the job runner.
 */
export class ParentRun implements RunOpener {
  private reporter: RunReporter | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly envelope: EventEnvelope<typeof EventNames.TrainRequested>,
    private readonly delivery: DeliveryFacts,
    readonly id: string,
    private readonly recorded: { seed: number; validationFraction: number },
  ) {}

  async open({ plan, version, backend }: RunFacts): Promise<RunReporter> {
    const job = this.envelope.payload;
    const reporter = new RunReporter(this.bus, this.envelope.correlationId, {
      experiment: job.experiment ?? job.dataset,
      dataset: job.dataset,
      datasetVersion: version?.id ?? job.version ?? UNRESOLVED_VERSION,
      backend,
    });
    await reporter.started({
      runId: this.id,
      parentRunId: null,
      runName: `sweep ${job.dataset}${version ? ` v${version.seq}` : ''}`,
      params: {
        grid: gridParam(plan?.grid ?? job.grid ?? null),
        trials: plan?.trials.length ?? 0,
        seed: this.recorded.seed,
        validation_fraction: this.recorded.validationFraction,
      },
      tags: this.tags(version === undefined),
    });
    this.reporter = reporter;
    return reporter;
  }

  /** Records the job's failure on the run; nothing to record when the run was never opened. */
  async fail(reason: string, rejected: boolean): Promise<void> {
    await this.reporter?.finished(this.id, {
      status: 'failed',
      error: reason,
      tags: rejected ? { rejected: 'true' } : {},
    });
  }

  private tags(unresolved: boolean): Record<string, string> {
    const job = this.envelope.payload;
    return {
      job_id: this.envelope.messageId,
      correlation_id: this.envelope.correlationId,
      reason: job.reason,
      role: 'sweep',
      ...(job.requestedBy ? { requested_by: job.requestedBy } : {}),
      ...(this.delivery.redelivered ? { redelivered: 'true' } : {}),
      ...(unresolved ? { dataset_version_resolved: 'false' } : {}),
    };
  }
}

/**
 * The sweep's grid as its run's `grid` param: its JSON, or, longer than a param value may be (MAX_PARAM_VALUE_LENGTH),
 * each parameter with its number of candidates, still JSON with the grid's names (`sepal train` reads them).
 */
export function gridParam(grid: unknown): string {
  const json = JSON.stringify(grid);
  if (json.length <= MAX_PARAM_VALUE_LENGTH) return json;
  const counts: Record<string, number> = {};
  for (const one of Array.isArray(grid) ? grid : [grid]) {
    for (const [name, values] of Object.entries((one ?? {}) as Record<string, unknown>)) {
      counts[name] = (counts[name] ?? 0) + (Array.isArray(values) ? values.length : 1);
    }
  }
  return JSON.stringify(
    Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, `${n} candidates`])),
  );
}
