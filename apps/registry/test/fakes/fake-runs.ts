/** registry.runs, metrics and experiments in memory, for RunsService specs. */
import { ExperimentView, featureImportanceOf, RunView } from '@sepal/contracts';
import { Transaction } from '@sepal/persistence';
import {
  EarlyRunEvent,
  MetricPoint,
  NewRun,
  RunPatch,
  RunSearch,
  RunsRepository,
} from '../../src/runs/runs.repository';
import { FakeClock, FakeTransactions, PublicOf, TransactionalStore } from './fake-transactions';

interface StoredRun extends NewRun {
  startTime: string;
  endTime: string | null;
  error: string | null;
}

interface StoredMetric extends Required<MetricPoint> {
  id: number;
  runId: string;
}

interface RunsState {
  experiments: ExperimentView[];
  runs: StoredRun[];
  metrics: StoredMetric[];
  early: { runId: string; event: EarlyRunEvent }[];
}

const FINAL_STATUSES = ['finished', 'failed', 'killed'];

/** Oldest first, as the repository orders a metric's points; the last point of a key is its latest value. */
const byStep = (a: StoredMetric, b: StoredMetric) =>
  a.step - b.step || a.timestamp.localeCompare(b.timestamp) || a.id - b.id;

export class FakeRunsRepository extends TransactionalStore<RunsState> implements PublicOf<RunsRepository> {
  /** Every search the service asked for, as it was handed over. */
  readonly searches: RunSearch[] = [];

  constructor(
    transactions: FakeTransactions,
    private readonly clock: FakeClock,
  ) {
    super({ experiments: [], runs: [], metrics: [], early: [] }, transactions);
  }

  async insertExperiment(
    tx: Transaction,
    experiment: { id: string; name: string; tags: Record<string, string> },
  ): Promise<ExperimentView | null> {
    this.transactions.write(tx);
    if (this.state.experiments.some((e) => e.name === experiment.name)) return null;
    const created = { ...experiment, createdAt: this.clock.now() };
    this.state.experiments.push(created);
    return created;
  }

  async findExperiment(idOrName: string, tx?: Transaction): Promise<ExperimentView | null> {
    this.transactions.read(tx);
    const { experiments } = this.state;
    return experiments.find((e) => e.name === idOrName) ?? experiments.find((e) => e.id === idOrName) ?? null;
  }

  async listExperiments(offset: number, limit: number): Promise<ExperimentView[]> {
    this.transactions.read(undefined);
    return this.state.experiments.slice(offset, offset + limit);
  }

  async insertRun(tx: Transaction, run: NewRun): Promise<boolean> {
    this.transactions.write(tx);
    if (this.find(run.id)) return false;
    this.state.runs.push({
      ...run,
      startTime: run.startTime ?? this.clock.now(),
      endTime: null,
      error: null,
    });
    return true;
  }

  async upsertStartedRun(tx: Transaction, run: NewRun): Promise<void> {
    this.transactions.write(tx);
    const existing = this.find(run.id);
    if (!existing) {
      await this.insertRun(tx, { ...run, status: 'running' });
      return;
    }
    Object.assign(existing, {
      status: ['scheduled', 'running'].includes(existing.status) ? 'running' : existing.status,
      parentRunId: existing.parentRunId ?? run.parentRunId,
      name: existing.name ?? run.name,
      startTime: run.startTime ?? this.clock.now(),
      params: { ...existing.params, ...run.params },
      tags: { ...existing.tags, ...run.tags },
      dataset: run.dataset,
      datasetVersion: run.datasetVersion,
      backend: run.backend,
      correlationId: existing.correlationId ?? run.correlationId,
    });
  }

  /** Transactions run one at a time here, so there is nothing to serialise. */
  async lockRunEvents(tx: Transaction): Promise<void> {
    this.transactions.write(tx);
  }

  async parkEarlyEvent(tx: Transaction, runId: string, event: EarlyRunEvent): Promise<void> {
    this.transactions.write(tx);
    this.state.early.push({ runId, event: structuredClone(event) });
  }

  async takeEarlyEvents(tx: Transaction, runId: string): Promise<EarlyRunEvent[]> {
    this.transactions.write(tx);
    const taken = this.state.early.filter((e) => e.runId === runId).map((e) => e.event);
    this.state.early = this.state.early.filter((e) => e.runId !== runId);
    return taken;
  }

  async runExists(tx: Transaction, id: string): Promise<boolean> {
    this.transactions.write(tx);
    return this.find(id) !== undefined;
  }

  async findRun(id: string, tx?: Transaction): Promise<RunView | null> {
    this.transactions.read(tx);
    const run = this.find(id);
    return run ? this.view(run) : null;
  }

  async updateRun(tx: Transaction, id: string, patch: RunPatch): Promise<void> {
    this.transactions.write(tx);
    const run = this.find(id);
    if (!run) return;
    run.status = patch.status ?? run.status;
    run.tags = { ...run.tags, ...patch.tags };
    const ends = patch.status !== undefined && FINAL_STATUSES.includes(patch.status);
    run.endTime = patch.endTime ?? (ends ? (run.endTime ?? this.clock.now()) : run.endTime);
    run.error = patch.error ?? run.error;
  }

  async insertMetrics(tx: Transaction, runId: string, points: MetricPoint[]): Promise<void> {
    this.transactions.write(tx);
    for (const point of points) {
      this.state.metrics.push({
        ...point,
        runId,
        id: this.state.metrics.length + 1,
        timestamp: point.timestamp ?? this.clock.now(),
      });
    }
  }

  async maxStep(tx: Transaction, runId: string): Promise<number> {
    this.transactions.write(tx);
    return Math.max(0, ...this.metricsOf(runId).map((m) => m.step));
  }

  async metricHistory(
    runId: string,
    key: string,
  ): Promise<{ value: number; step: number; timestamp: string }[]> {
    this.transactions.read(undefined);
    return this.metricsOf(runId)
      .filter((m) => m.key === key)
      .sort(byStep)
      .map(({ value, step, timestamp }) => ({ value, step, timestamp }));
  }

  /** Records the search; filters by experiment and parent only (the filter's SQL has its own spec). */
  async searchRuns(search: RunSearch): Promise<RunView[]> {
    this.transactions.read(undefined);
    this.searches.push(search);
    return this.state.runs
      .filter((r) => !search.experimentId || r.experimentId === search.experimentId)
      .filter((r) => !search.parentRunId || r.parentRunId === search.parentRunId)
      .sort((a, b) => b.startTime.localeCompare(a.startTime) || a.id.localeCompare(b.id))
      .slice(search.offset, search.offset + search.limit + 1)
      .map((r) => this.view(r));
  }

  private find(id: string): StoredRun | undefined {
    return this.state.runs.find((r) => r.id === id);
  }

  private metricsOf(runId: string): StoredMetric[] {
    return this.state.metrics.filter((m) => m.runId === runId);
  }

  private view(run: StoredRun): RunView {
    const latest = this.metricsOf(run.id).sort(byStep);
    return {
      id: run.id,
      experimentId: run.experimentId,
      experiment: this.state.experiments.find((e) => e.id === run.experimentId)?.name ?? '?',
      parentRunId: run.parentRunId,
      name: run.name,
      status: run.status,
      startTime: run.startTime,
      endTime: run.endTime,
      params: run.params,
      tags: run.tags,
      dataset: run.dataset,
      datasetVersion: run.datasetVersion,
      backend: run.backend,
      correlationId: run.correlationId,
      error: run.error,
      metrics: Object.fromEntries(latest.map((m) => [m.key, m.value])),
      featureImportance: featureImportanceOf(Object.fromEntries(latest.map((m) => [m.key, m.value]))),
      childrenCount: this.state.runs.filter((r) => r.parentRunId === run.id).length,
    };
  }
}
