import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  CreateRunRequest,
  ExperimentView,
  InvalidInputError,
  NotFoundError,
  RunFinished,
  RunPage,
  RunView,
  SearchRunsQuery,
  TrainingProgress,
  TrainingStarted,
  UpdateRunRequest,
} from '@sepal/contracts';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { InboxRepository, TRAINING_EVENTS } from '../inbox/inbox.repository';
import { checkEntryCount } from '../limits';
import { decodePageToken, pageOf } from '../paging';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';
import {
  checkFilter,
  Condition,
  FilterError,
  FilterTypeError,
  OrderTerm,
  parseOrderBy,
} from '../search/run-filter';
import { EarlyRunEvent, MetricPoint, RunsRepository } from './runs.repository';

/** Experiments, runs and metrics: the tracking half of the registry, written over REST and from training events. */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);

  constructor(
    private readonly repository: RunsRepository,
    private readonly inbox: InboxRepository,
    private readonly transactions: TransactionRunner,
    @Inject(RegistryConfig) private readonly config: RegistryConfigValues,
  ) {}

  async createExperiment(name: string, tags: Record<string, string> = {}): Promise<ExperimentView> {
    this.checkTags(tags);
    const created = await this.transactions.run((tx) =>
      this.repository.insertExperiment(tx, { id: randomUUID(), name, tags }),
    );
    if (!created)
      throw new ConflictError(`experiment '${name}' already exists`, `GET /experiments/${name} shows it.`);
    return created;
  }

  async getExperiment(idOrName: string): Promise<ExperimentView> {
    const experiment = await this.repository.findExperiment(idOrName);
    if (!experiment)
      throw new NotFoundError(`unknown experiment '${idOrName}'`, 'GET /experiments lists them.');
    return experiment;
  }

  async listExperiments(limit: number, pageToken?: string) {
    const offset = decodePageToken(pageToken);
    const page = pageOf(await this.repository.listExperiments(offset, limit + 1), offset, limit);
    return { experiments: page.items, nextPageToken: page.nextPageToken };
  }

  /** Creates a run (its experiment too, if new); a client-chosen runId that exists returns that run unchanged. */
  async createRun(request: CreateRunRequest): Promise<{ run: RunView; created: boolean }> {
    this.checkTags(request.tags);
    this.checkParams(request.params);
    const runId = request.runId ?? randomUUID();
    const created = await this.transactions.run(async (tx) => {
      const experimentId = await this.ensureExperiment(tx, request.experiment);
      if (request.parentRunId && !(await this.repository.runExists(tx, request.parentRunId))) {
        throw new NotFoundError(`unknown parent run '${request.parentRunId}'`);
      }
      return this.repository.insertRun(tx, {
        id: runId,
        experimentId,
        parentRunId: request.parentRunId ?? null,
        name: request.name ?? null,
        status: request.status,
        startTime: request.startTime ?? null,
        params: request.params ?? {},
        tags: request.tags ?? {},
        dataset: request.dataset ?? null,
        datasetVersion: request.datasetVersion ?? null,
        backend: request.backend ?? null,
        correlationId: request.correlationId ?? null,
      });
    });
    return { run: await this.getRun(runId), created };
  }

  async getRun(id: string, tx?: Transaction): Promise<RunView> {
    const run = isUuid(id) ? await this.repository.findRun(id, tx) : null;
    if (!run) throw new NotFoundError(`unknown run '${id}'`, 'GET /runs lists runs.');
    return run;
  }

  async updateRun(id: string, patch: UpdateRunRequest): Promise<RunView> {
    await this.transactions.run(async (tx) => {
      await this.lockRun(tx, id);
      if (patch.tags) {
        // Tags are merged into the run's: the limit is on the run's tags afterwards, not on one update.
        const run = await this.getRun(id, tx);
        this.checkTags({ ...run.tags, ...patch.tags });
      }
      await this.repository.updateRun(tx, id, patch);
    });
    return this.getRun(id);
  }

  /**
   * Tags sent over REST or in a training event (the trainer's carry a handful, but an event is as much a client's as a
   * request): beyond REGISTRY_MAX_TAGS, a 400 over REST and a dead-lettered event naming the setting.
   */
  checkTags(tags: Record<string, string> | undefined): void {
    checkEntryCount('tags', tags, this.config.REGISTRY_MAX_TAGS, 'REGISTRY_MAX_TAGS');
  }

  private checkParams(params: Record<string, unknown> | undefined): void {
    checkEntryCount('params', params, this.config.REGISTRY_MAX_PARAMS, 'REGISTRY_MAX_PARAMS');
  }

  async logMetrics(runId: string, points: MetricPoint[]): Promise<{ runId: string; logged: number }> {
    await this.transactions.run(async (tx) => {
      await this.lockRun(tx, runId);
      await this.repository.insertMetrics(tx, runId, points);
    });
    return { runId, logged: points.length };
  }

  async metricHistory(runId: string, key: string) {
    await this.getRun(runId);
    return this.repository.metricHistory(runId, key);
  }

  /** Filter and order in the search language (see run-filter.ts); a malformed or ill-typed one is a 400 saying why. */
  async searchRuns(query: SearchRunsQuery): Promise<RunPage> {
    const filter = readSearch('filter', query.filter, checkFilter);
    const orderBy = readSearch('orderBy', query.orderBy, parseOrderBy);
    const offset = decodePageToken(query.pageToken);
    const experimentId = query.experiment ? (await this.getExperiment(query.experiment)).id : undefined;
    const rows = await this.repository.searchRuns({
      filter,
      orderBy,
      experimentId,
      parentRunId: query.parentRunId,
      offset,
      limit: query.limit,
    });
    const page = pageOf(rows, offset, query.limit);
    return { runs: page.items, nextPageToken: page.nextPageToken };
  }

  /**
   * training.started: upserts the run as running, then applies the events of the run that arrived before it; a
   * redelivered message is skipped. Run events are applied in any order (see onTrainingProgress), so the registry may
   * consume them concurrently and from several replicas.
   *
   * Tags beyond REGISTRY_MAX_TAGS or params beyond REGISTRY_MAX_PARAMS (the event's own, or the run's once merged
   * into a run created over REST) refuse the event before anything else is written: the transaction, its inbox claim
   * included, rolls back and the messaging layer dead-letters the event with the reason (an InvalidInputError is
   * permanent).
   */
  async onTrainingStarted(event: TrainingStarted, messageId: string, correlationId: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (!(await this.inbox.claim(tx, messageId, TRAINING_EVENTS))) return;
      await this.repository.lockRunEvents(tx, event.runId);
      // A run created over REST keeps its tags and params, the event's are merged in (see upsertStartedRun): the
      // limits are on the result.
      const existing = await this.repository.findRun(event.runId, tx);
      this.checkTags({ ...existing?.tags, ...event.tags });
      this.checkParams({ ...existing?.params, ...event.params });
      const experimentId = await this.ensureExperiment(tx, event.experiment);
      await this.repository.upsertStartedRun(tx, {
        id: event.runId,
        experimentId,
        parentRunId: event.parentRunId,
        name: event.runName ?? null,
        status: 'running',
        startTime: event.startedAt,
        params: event.params,
        tags: event.tags,
        dataset: event.dataset,
        datasetVersion: event.datasetVersion,
        backend: event.backend,
        correlationId,
      });
      for (const early of await this.repository.takeEarlyEvents(tx, event.runId)) {
        if (early.kind === 'progress') await this.applyProgress(tx, early.payload as TrainingProgress);
        else await this.applyFinished(tx, early.payload as RunFinished, true);
      }
    });
  }

  /**
   * training.progress: one metric point per key at the event's step. Progress that overtakes its run's
   * training.started (the registry consumes with a prefetch, several replicas may too) waits for it, parked in the
   * same transaction that claims the message: nothing is retried, nothing is lost.
   */
  async onTrainingProgress(event: TrainingProgress, messageId: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (!(await this.inbox.claim(tx, messageId, TRAINING_EVENTS))) return;
      if (await this.parkedUntilStarted(tx, event.runId, { kind: 'progress', payload: event })) return;
      await this.applyProgress(tx, event);
    });
  }

  /**
   * run.finished: final status, end time, tags and final metrics (logged at the step the event names, or the run's last
   * step); waits like progress.
   *
   * Its tags are merged into the run's, and the limit (REGISTRY_MAX_TAGS) is on the result, as for PATCH /runs/:id:
   * beyond it the event is refused (dead-lettered with the reason) and nothing is written. An event parked for a run
   * not started yet is checked on its own when it arrives; its merged count can only be known when the run starts,
   * and if it is over then, the event's status, end time, error and metrics are still applied but its tags are not
   * (logged with the setting): the parked event was acknowledged long ago and cannot be dead-lettered any more, and
   * refusing it there would refuse the run's training.started with it, for ever.
   */
  async onRunFinished(event: RunFinished, messageId: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (!(await this.inbox.claim(tx, messageId, TRAINING_EVENTS))) return;
      this.checkTags(event.tags);
      if (await this.parkedUntilStarted(tx, event.runId, { kind: 'finished', payload: event })) return;
      await this.applyFinished(tx, event);
    });
  }

  /** True when the run does not exist yet and the event was parked for its training.started. */
  private async parkedUntilStarted(tx: Transaction, runId: string, event: EarlyRunEvent): Promise<boolean> {
    if (!isUuid(runId)) throw new NotFoundError(`unknown run '${runId}'`, 'GET /runs lists runs.');
    await this.repository.lockRunEvents(tx, runId);
    if (await this.repository.runExists(tx, runId, true)) return false;
    await this.repository.parkEarlyEvent(tx, runId, event);
    return true;
  }

  private async applyProgress(tx: Transaction, event: TrainingProgress): Promise<void> {
    await this.repository.insertMetrics(
      tx,
      event.runId,
      Object.entries(event.metrics).map(([key, value]) => ({
        key,
        value,
        step: event.step,
        timestamp: event.timestamp,
      })),
    );
  }

  /** `parked`: the event waited for training.started, which applies it; tags over the limit are dropped, not refused. */
  private async applyFinished(tx: Transaction, event: RunFinished, parked = false): Promise<void> {
    let tags = event.tags;
    if (Object.keys(tags).length > 0) {
      const run = await this.getRun(event.runId, tx);
      try {
        this.checkTags({ ...run.tags, ...tags });
      } catch (error) {
        if (!parked || !(error instanceof InvalidInputError)) throw error;
        this.logger.warn(
          `run.finished of run ${event.runId} waited for its training.started and is applied without its tags: ${error.message}`,
        );
        tags = {};
      }
    }
    await this.repository.updateRun(tx, event.runId, {
      status: event.status,
      endTime: event.endedAt,
      tags,
      error: event.error,
    });
    const entries = Object.entries(event.metrics);
    if (entries.length) {
      // At the step the trainer named (after its progress burst, which may be applied after this), else the last.
      const step = Math.max(await this.repository.maxStep(tx, event.runId), event.step ?? 0);
      await this.repository.insertMetrics(
        tx,
        event.runId,
        entries.map(([key, value]) => ({ key, value, step, timestamp: event.endedAt })),
      );
    }
  }

  private async lockRun(tx: Transaction, id: string): Promise<void> {
    if (!isUuid(id) || !(await this.repository.runExists(tx, id, true))) {
      throw new NotFoundError(`unknown run '${id}'`, 'GET /runs lists runs.');
    }
  }

  private async ensureExperiment(tx: Transaction, name: string): Promise<string> {
    await this.repository.insertExperiment(tx, { id: randomUUID(), name, tags: {} });
    const experiment = await this.repository.findExperiment(name, tx);
    if (!experiment) throw new Error(`experiment '${name}' vanished`);
    return experiment.id;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

const SEARCH_EXAMPLES = {
  filter: `Example: metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'`,
  orderBy: 'Example: metrics.f1 DESC',
};

/** Parses a filter or order-by; a FilterError becomes a 400 with its reason, position and (if ill-typed) comparison. */
function readSearch<T extends Condition | OrderTerm>(
  what: 'filter' | 'orderBy',
  input: string | undefined,
  parse: (input: string) => T[],
): T[] {
  try {
    return parse(input ?? '');
  } catch (error) {
    if (!(error instanceof FilterError)) throw error;
    const typed = error instanceof FilterTypeError;
    throw new InvalidInputError(
      `${typed ? 'ill-typed' : 'malformed'} ${what}: ${error.message}`,
      SEARCH_EXAMPLES[what],
      {
        position: error.position,
        input: error.input,
        ...(typed ? error.comparison : {}),
      },
    );
  }
}
