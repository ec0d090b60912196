/**
 * In-memory fakes of the registry's repositories, artifact store and transaction port, for the `*.service.spec.ts`
 * beside each service. They keep the semantics the services rely on (ON CONFLICT DO NOTHING, merges, the latest metric
 * by step, row order) and check how services use transactions: a write must run in an open transaction, a failed one
 * is rolled back, and a read inside a transaction must go through it (the embedded database has a single session, so
 * a read beside the open transaction would wait for it forever).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AliasAuditEntry,
  EventNames,
  EventPayloadInput,
  ExperimentView,
  featureImportanceOf,
  ModelPromoted,
  modelPromotedSchema,
  RunView,
} from '@sepal/contracts';
import type { OutboxRelay } from '@sepal/messaging';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { ArtifactRecord, ArtifactsRepository, NewArtifact } from '../../src/artifacts/artifacts.repository';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import {
  ArtifactStore,
  ArtifactTooLargeError,
  ReceivedArtifact,
  UploadCheck,
} from '../../src/artifacts/artifact-store';
import { InlineOnnxChecker, uploadPolicy } from '../../src/artifacts/onnx-checker';
import { InboxRepository } from '../../src/inbox/inbox.repository';
import {
  ModelRecord,
  ModelsRepository,
  NewAuditEntry,
  VersionRecord,
} from '../../src/models/models.repository';
import { ModelsService } from '../../src/models/models.service';
import { RegistryConfig } from '../../src/registry.config';
import {
  EarlyRunEvent,
  MetricPoint,
  NewRun,
  RunPatch,
  RunSearch,
  RunsRepository,
} from '../../src/runs/runs.repository';
import { RunsService } from '../../src/runs/runs.service';

/** The public surface of a class (what a service can call), without its private fields. */
type PublicOf<T> = { [K in keyof T]: T[K] };

/** A deterministic clock: each call is one second after the previous one. */
export class FakeClock {
  private ticks = 0;
  constructor(private readonly start = Date.parse('2025-01-01T00:00:00Z')) {}

  now(): string {
    return new Date(this.start + 1000 * this.ticks++).toISOString();
  }
}

/** State that a transaction rollback restores. */
abstract class TransactionalStore<S> {
  constructor(
    protected state: S,
    protected readonly transactions: FakeTransactions,
  ) {
    transactions.register(this);
  }

  /** Saves the state; the returned function puts it back. */
  snapshot(): () => void {
    const saved = structuredClone(this.state);
    return () => {
      this.state = saved;
    };
  }
}

/**
 * The TransactionRunner port in memory: one transaction at a time (as on the embedded database), each rolled back
 * (every registered store restored) when its work throws.
 */
export class FakeTransactions extends TransactionRunner {
  committed = 0;
  rolledBack = 0;
  private readonly stores: TransactionalStore<unknown>[] = [];
  private readonly current = new AsyncLocalStorage<Transaction>();
  private readonly open = new Set<Transaction>();
  private queue: Promise<unknown> = Promise.resolve();

  register(store: TransactionalStore<unknown>): void {
    this.stores.push(store);
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.current.getStore()) {
      return Promise.reject(
        new Error('a transaction inside a transaction: pass the open one to repositories'),
      );
    }
    const turn = this.queue.then(() => this.runNow(work));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** For fake repositories: a write needs the transaction the service opened, still open. */
  write(tx: Transaction): void {
    if (!this.open.has(tx)) throw new Error('a repository write outside an open transaction');
  }

  /** For fake repositories: a read inside a transaction must be given it. */
  read(tx: Transaction | undefined): void {
    if (tx) this.write(tx);
    else if (this.current.getStore()) {
      throw new Error(
        'a read beside the open transaction (it would wait for it forever on the embedded database)',
      );
    }
  }

  private async runNow<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const restores = this.stores.map((store) => store.snapshot());
    const tx = fakeTransaction();
    this.open.add(tx);
    try {
      const result = await this.current.run(tx, () => work(tx));
      this.committed++;
      return result;
    } catch (error) {
      restores.forEach((restore) => restore());
      this.rolledBack++;
      throw error;
    } finally {
      this.open.delete(tx);
    }
  }
}

export class FakeInbox
  extends TransactionalStore<{ claimed: string[] }>
  implements PublicOf<InboxRepository>
{
  constructor(transactions: FakeTransactions) {
    super({ claimed: [] }, transactions);
  }

  async claim(tx: Transaction, messageId: string, consumer: string): Promise<boolean> {
    this.transactions.write(tx);
    const key = `${consumer}/${messageId}`;
    if (this.state.claimed.includes(key)) return false;
    this.state.claimed.push(key);
    return true;
  }
}

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

interface ModelsState {
  models: ModelRecord[];
  versions: VersionRecord[];
  aliases: { name: string; alias: string; version: number }[];
  audit: AliasAuditEntry[];
  /** The outbox: model.promoted events written in committed transactions. */
  outbox: ModelPromoted[];
}

export class FakeModelsRepository
  extends TransactionalStore<ModelsState>
  implements PublicOf<ModelsRepository>
{
  constructor(
    transactions: FakeTransactions,
    private readonly clock: FakeClock,
  ) {
    super({ models: [], versions: [], aliases: [], audit: [], outbox: [] }, transactions);
  }

  get outbox(): readonly ModelPromoted[] {
    return this.state.outbox;
  }

  get auditLog(): readonly AliasAuditEntry[] {
    return this.state.audit;
  }

  async insertModel(
    tx: Transaction,
    model: { name: string; description: string | null; tags: Record<string, string> },
  ): Promise<ModelRecord | null> {
    this.transactions.write(tx);
    if (this.model(model.name)) return null;
    const created = { ...model, createdAt: this.clock.now() };
    this.state.models.push(created);
    return created;
  }

  async lockModel(tx: Transaction, name: string): Promise<ModelRecord | null> {
    this.transactions.write(tx);
    return this.model(name) ?? null;
  }

  async findModel(name: string): Promise<ModelRecord | null> {
    this.transactions.read(undefined);
    return this.model(name) ?? null;
  }

  async listModels(
    offset: number,
    limit: number,
  ): Promise<(ModelRecord & { latestVersion: number | null })[]> {
    this.transactions.read(undefined);
    return [...this.state.models]
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(offset, offset + limit)
      .map((m) => {
        const versions = this.versionsOf(m.name).map((v) => v.version);
        return { ...m, latestVersion: versions.length ? Math.max(...versions) : null };
      });
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    this.transactions.read(undefined);
    return this.versionsOf(name);
  }

  async findVersion(name: string, version: number, tx?: Transaction): Promise<VersionRecord | null> {
    this.transactions.read(tx);
    return this.versionsOf(name).find((v) => v.version === version) ?? null;
  }

  async nextVersion(tx: Transaction, name: string): Promise<number> {
    this.transactions.write(tx);
    return Math.max(0, ...this.versionsOf(name).map((v) => v.version)) + 1;
  }

  async insertVersion(tx: Transaction, version: Omit<VersionRecord, 'createdAt'>): Promise<VersionRecord> {
    this.transactions.write(tx);
    if (!this.model(version.name)) throw new Error(`foreign key: no model '${version.name}'`);
    if (this.versionsOf(version.name).some((v) => v.version === version.version)) {
      throw new Error(`duplicate key: ${version.name} v${version.version}`);
    }
    const created = { ...version, createdAt: this.clock.now() };
    this.state.versions.push(created);
    return created;
  }

  async aliases(name: string, tx?: Transaction): Promise<Record<string, number>> {
    this.transactions.read(tx);
    const rows = this.state.aliases.filter((a) => a.name === name);
    return Object.fromEntries(
      rows.sort((a, b) => a.alias.localeCompare(b.alias)).map((a) => [a.alias, a.version]),
    );
  }

  async setAlias(tx: Transaction, name: string, alias: string, version: number): Promise<void> {
    this.transactions.write(tx);
    const existing = this.state.aliases.find((a) => a.name === name && a.alias === alias);
    if (existing) existing.version = version;
    else this.state.aliases.push({ name, alias, version });
  }

  async insertAudit(tx: Transaction, entry: NewAuditEntry): Promise<AliasAuditEntry> {
    this.transactions.write(tx);
    const { name, ...rest } = entry;
    const row = { id: this.state.audit.length + 1, model: name, ...rest, at: this.clock.now() };
    this.state.audit.push(row);
    return row;
  }

  async audit(name: string, alias?: string): Promise<AliasAuditEntry[]> {
    this.transactions.read(undefined);
    return this.state.audit.filter((a) => a.model === name && (alias === undefined || a.alias === alias));
  }

  /** Validates the event as the real outbox does (InvalidEventError there, a ZodError here). */
  async enqueuePromotion(
    tx: Transaction,
    promotion: EventPayloadInput<typeof EventNames.ModelPromoted>,
  ): Promise<void> {
    this.transactions.write(tx);
    this.state.outbox.push(modelPromotedSchema.parse(promotion));
  }

  private model(name: string): ModelRecord | undefined {
    return this.state.models.find((m) => m.name === name);
  }

  private versionsOf(name: string): VersionRecord[] {
    return this.state.versions.filter((v) => v.name === name).sort((a, b) => a.version - b.version);
  }
}

export class FakeArtifactsRepository
  extends TransactionalStore<{ artifacts: ArtifactRecord[] }>
  implements PublicOf<ArtifactsRepository>
{
  constructor(transactions: FakeTransactions) {
    super({ artifacts: [] }, transactions);
  }

  async insert(artifact: NewArtifact): Promise<boolean> {
    this.transactions.read(undefined);
    if (this.state.artifacts.some((a) => a.sha256 === artifact.sha256)) return false;
    this.state.artifacts.push({ ...artifact, createdAt: new Date() });
    return true;
  }

  async find(sha256: string, tx?: Transaction): Promise<ArtifactRecord | null> {
    this.transactions.read(tx);
    return this.state.artifacts.find((a) => a.sha256 === sha256) ?? null;
  }
}

/** The content-addressed file store in memory (files are not transactional, so no rollback). */
export class FakeArtifactStore implements PublicOf<ArtifactStore> {
  readonly files = new Map<string, Buffer>();

  relativePath(sha256: string): string {
    return `${sha256.slice(0, 2)}/${sha256}`;
  }

  async has(sha256: string): Promise<boolean> {
    return this.files.has(this.relativePath(sha256));
  }

  readonly limits = { maxBytes: 1024 * 1024, maxConcurrent: 2 };

  async receive(
    content: AsyncIterable<Buffer>,
    stated: string,
    check: UploadCheck = async () => undefined,
  ): Promise<ReceivedArtifact> {
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (bytes.length > this.limits.maxBytes) throw new ArtifactTooLargeError(this.limits.maxBytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== stated || bytes.length === 0) return { sha256, size: bytes.length };
    await check(async () => bytes);
    const path = this.relativePath(sha256);
    if (!this.files.has(path)) this.files.set(path, bytes);
    return { sha256, size: bytes.length, path };
  }

  open(relativePath: string): Readable {
    const content = this.files.get(relativePath);
    if (!content) throw new Error(`ENOENT: ${relativePath}`);
    return Readable.from([content]);
  }
}

/** Counts flushes instead of publishing. */
export class FakeOutboxRelay implements Pick<OutboxRelay, 'flush'> {
  flushes = 0;

  async flush(): Promise<number> {
    this.flushes++;
    return 0;
  }
}

export const PUBLIC_URL = 'http://registry.test:3002';

/** The registry's services wired on fakes, with the fakes to inspect. */
export function registryOnFakes() {
  Logger.overrideLogger(false); // services log through Nest's Logger; specs stay quiet
  const clock = new FakeClock();
  const transactions = new FakeTransactions();
  const inbox = new FakeInbox(transactions);
  const runsRepository = new FakeRunsRepository(transactions, clock);
  const modelsRepository = new FakeModelsRepository(transactions, clock);
  const artifactsRepository = new FakeArtifactsRepository(transactions);
  const store = new FakeArtifactStore();
  const outbox = new FakeOutboxRelay();
  const runs = new RunsService(
    runsRepository as unknown as RunsRepository,
    inbox as unknown as InboxRepository,
    transactions,
    RegistryConfig.load({}),
  );
  const artifacts = new ArtifactsService(
    artifactsRepository as unknown as ArtifactsRepository,
    store as unknown as ArtifactStore,
    new InlineOnnxChecker(uploadPolicy(RegistryConfig.load({}))),
  );
  const models = new ModelsService(
    modelsRepository as unknown as ModelsRepository,
    inbox as unknown as InboxRepository,
    transactions,
    runs,
    artifacts,
    outbox as unknown as OutboxRelay,
    RegistryConfig.load({ REGISTRY_PUBLIC_URL: `${PUBLIC_URL}/` }),
  );
  return {
    runs,
    models,
    artifacts,
    transactions,
    inbox,
    runsRepository,
    modelsRepository,
    artifactsRepository,
    store,
    outbox,
  };
}
