import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { DatasetVersioned } from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { DataConfig, DataConfigValues } from '../src/data.config';
import {
  DatasetRecord,
  DatasetsRepository,
  NewVersion,
  VersionRecord,
} from '../src/datasets/datasets.repository';
import { DatasetsService } from '../src/datasets/datasets.service';
import { DatasetSchema, VersionRow } from '../src/datasets/domain/version-content';
import { FeedbackRecord, FeedbackRepository } from '../src/feedback/feedback.repository';
import { FeedbackService } from '../src/feedback/feedback.service';

/** In-memory stand-ins for the data service's ports, for the services' unit specs. */

/** The public surface of a class, so a fake is checked against it without its private members. */
type PublicOf<T> = { [K in keyof T]: T[K] };

/** A fake's state, restored when the transaction that changed it fails (as a rollback would). */
interface Rollbackable {
  snapshot(): () => void;
}

/**
 * Runs work in a fake transaction and rolls the fakes back when it throws. While a transaction is open, a fake
 * repository refuses a call that does not pass it: on PGlite such a query would wait forever for the session the
 * transaction holds.
 */
export class FakeTransactionRunner extends TransactionRunner {
  open: Transaction | null = null;
  committed = 0;
  private readonly participants: Rollbackable[] = [];

  enlist(participant: Rollbackable): void {
    this.participants.push(participant);
  }

  async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.open) throw new Error('nested transaction: pass the open one instead');
    const restores = this.participants.map((p) => p.snapshot());
    const tx = fakeTransaction();
    this.open = tx;
    try {
      const result = await work(tx);
      this.committed += 1;
      return result;
    } catch (error) {
      restores.forEach((restore) => restore());
      throw error;
    } finally {
      this.open = null;
    }
  }

  /** Every repository call checks its transaction argument here. */
  check(tx: Transaction | undefined, required = false): void {
    if (required && !tx) throw new Error('this call must run inside a transaction');
    if (tx && tx !== this.open) throw new Error('a transaction that is not open was passed');
    if (this.open && tx !== this.open) {
      throw new Error('a query outside the open transaction (it would wait for the session on PGlite)');
    }
  }
}

const copy = <T>(value: T): T => structuredClone(value);

export class InMemoryDatasetsRepository implements PublicOf<DatasetsRepository>, Rollbackable {
  datasets = new Map<string, DatasetRecord>();
  versions: VersionRecord[] = [];
  rows = new Map<string, VersionRow[]>();
  announced: { event: DatasetVersioned; correlationId?: string }[] = [];
  /** Datasets locked, in order (one entry per version write). */
  locks: string[] = [];
  private clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(private readonly transactions: FakeTransactionRunner) {
    transactions.enlist(this);
  }

  snapshot(): () => void {
    const saved = copy({
      datasets: this.datasets,
      versions: this.versions,
      rows: this.rows,
      announced: this.announced,
    });
    return () => Object.assign(this, saved);
  }

  async ensureDatasetLocked(
    tx: Transaction,
    dataset: { name: string; description: string; task: string; schema: DatasetSchema },
  ): Promise<void> {
    this.transactions.check(tx, true);
    if (!this.datasets.has(dataset.name)) {
      this.datasets.set(dataset.name, {
        name: dataset.name,
        description: dataset.description,
        task: dataset.task,
        schema: dataset.schema,
        createdAt: new Date(this.clock),
        versionCount: 0,
        latestVersion: null,
      });
    }
    this.locks.push(dataset.name);
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    this.transactions.check(undefined);
    return [...this.datasets.values()].map((d) => {
      const versions = this.versions.filter((v) => v.dataset === d.name);
      return { ...d, versionCount: versions.length, latestVersion: versions.at(-1)?.id ?? null };
    });
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    this.transactions.check(undefined);
    return copy(this.versions.filter((v) => v.dataset === dataset));
  }

  async latestVersion(dataset: string, tx?: Transaction): Promise<VersionRecord | null> {
    this.transactions.check(tx);
    return copy(this.versions.filter((v) => v.dataset === dataset).at(-1) ?? null);
  }

  async findVersions(dataset: string, ref: { prefix?: string; seq?: number }): Promise<VersionRecord[]> {
    this.transactions.check(undefined);
    const mine = this.versions.filter((v) => v.dataset === dataset);
    return copy(
      ref.seq ? mine.filter((v) => v.seq === ref.seq) : mine.filter((v) => v.id.startsWith(ref.prefix ?? '')),
    ).slice(0, 2);
  }

  async versionById(id: string, tx?: Transaction): Promise<VersionRecord | null> {
    this.transactions.check(tx);
    return copy(this.versions.find((v) => v.id === id) ?? null);
  }

  async insertVersion(tx: Transaction, version: NewVersion, rows: VersionRow[]): Promise<VersionRecord> {
    this.transactions.check(tx, true);
    if (!this.locks.includes(version.dataset)) throw new Error(`dataset ${version.dataset} was not locked`);
    if (this.versions.some((v) => v.id === version.id)) throw new Error(`duplicate version id ${version.id}`);
    const seq = this.versions.filter((v) => v.dataset === version.dataset).length + 1;
    this.clock += 1000;
    const record: VersionRecord = { ...copy(version), seq, createdAt: new Date(this.clock).toISOString() };
    this.versions.push(record);
    this.rows.set(version.id, copy(rows));
    return copy(record);
  }

  async announceVersion(tx: Transaction, event: DatasetVersioned, correlationId?: string): Promise<void> {
    this.transactions.check(tx, true);
    this.announced.push({ event: copy(event), correlationId });
  }

  async allRows(versionId: string, tx?: Transaction): Promise<VersionRow[]> {
    this.transactions.check(tx);
    return copy(this.rows.get(versionId) ?? []);
  }

  rowPage: DatasetsRepository['rowPage'] = async (versionId, split, after, limit) => {
    this.transactions.check(undefined);
    const all = (this.rows.get(versionId) ?? [])
      .map((row, ordinal) => ({ row, ordinal }))
      .filter(({ row, ordinal }) => ordinal > after && (!split || row.split === split));
    const page = all.slice(0, limit);
    return {
      features: page.map(({ row }) => [...row.features]),
      labels: page.map(({ row }) => row.label),
      keys: page.map(({ row }) => row.key),
      splits: page.map(({ row }) => row.split),
      nextCursor: all.length > limit ? page[page.length - 1].ordinal : null,
    };
  };

  async trainRanges(versionId: string, featureCount: number): Promise<{ min: number; max: number }[]> {
    this.transactions.check(undefined);
    const train = (this.rows.get(versionId) ?? []).filter((r) => r.split === 'train');
    return Array.from({ length: featureCount }, (_, i) => ({
      min: Math.min(...train.map((r) => r.features[i])),
      max: Math.max(...train.map((r) => r.features[i])),
    }));
  }
}

export class InMemoryFeedbackRepository implements PublicOf<FeedbackRepository>, Rollbackable {
  samples: (FeedbackRecord & { messageId: string | null })[] = [];
  private clock = Date.parse('2026-02-01T00:00:00Z');

  constructor(private readonly transactions: FakeTransactionRunner) {
    transactions.enlist(this);
  }

  snapshot(): () => void {
    const saved = copy(this.samples);
    return () => (this.samples = saved);
  }

  async insert(
    record: Omit<FeedbackRecord, 'receivedAt' | 'committedVersion'>,
    messageId?: string,
  ): Promise<FeedbackRecord> {
    this.transactions.check(undefined);
    const existing = this.samples.find(
      (s) => s.id === record.id || (messageId !== undefined && s.messageId === messageId),
    );
    if (existing) return strip(existing);
    this.clock += 1000;
    const stored = {
      ...copy(record),
      receivedAt: new Date(this.clock).toISOString(),
      committedVersion: null,
      messageId: messageId ?? null,
    };
    this.samples.push(stored);
    return strip(stored);
  }

  async pending(tx: Transaction, dataset: string): Promise<FeedbackRecord[]> {
    this.transactions.check(tx, true);
    return this.samples.filter((s) => s.dataset === dataset && s.committedVersion === null).map(strip);
  }

  async countPending(dataset: string): Promise<number> {
    this.transactions.check(undefined);
    return this.samples.filter((s) => s.dataset === dataset && s.committedVersion === null).length;
  }

  async markCommitted(tx: Transaction, ids: string[], versionId: string): Promise<void> {
    this.transactions.check(tx, true);
    for (const sample of this.samples) if (ids.includes(sample.id)) sample.committedVersion = versionId;
  }

  async list(
    dataset: string,
    state: 'pending' | 'committed' | 'all',
    limit: number,
  ): Promise<FeedbackRecord[]> {
    this.transactions.check(undefined);
    return this.samples
      .filter((s) => s.dataset === dataset)
      .filter((s) => state === 'all' || (state === 'pending') === (s.committedVersion === null))
      .reverse()
      .slice(0, limit)
      .map(strip);
  }
}

function strip({ messageId: _, ...record }: FeedbackRecord & { messageId: string | null }): FeedbackRecord {
  return copy(record);
}

/** Counts flushes instead of publishing. */
export class FakeOutbox {
  flushes = 0;
  async flush(): Promise<number> {
    this.flushes += 1;
    return 0;
  }
  asRelay(): OutboxRelay {
    return this as unknown as OutboxRelay;
  }
}

/** The data service's configuration with its defaults, plus overrides. */
export function dataConfig(
  overrides: Partial<Record<keyof DataConfigValues, string>> = {},
): DataConfigValues {
  return DataConfig.load({ LOG_LEVEL: 'error', ...overrides });
}

const IRIS_CLASSES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

/**
 * An Iris-format file of `perClass` distinct rows per class. Row i of a class is the same whatever `perClass` is, so
 * a larger file holds every row of a smaller one.
 */
export function syntheticIris(perClass: number): string {
  const lines = IRIS_CLASSES.flatMap((name, c) =>
    Array.from({ length: perClass }, (_, i) => {
      const base = 4 + 1.5 * c;
      return `${(base + i / 10).toFixed(1)},${(3 + c / 10).toFixed(1)},${(1 + 2 * c + i / 20).toFixed(2)},${(0.2 + c).toFixed(1)},${name}`;
    }),
  );
  return `${lines.join('\n')}\n`;
}

/** The data services on in-memory fakes, with everything the specs look at. */
export function inMemoryDataServices(overrides: Partial<Record<keyof DataConfigValues, string>> = {}) {
  Logger.overrideLogger(false);
  const transactions = new FakeTransactionRunner();
  const datasetsRepository = new InMemoryDatasetsRepository(transactions);
  const feedbackRepository = new InMemoryFeedbackRepository(transactions);
  const outbox = new FakeOutbox();
  const config = dataConfig({ DATA_DIR: join(__dirname, '../../../data'), ...overrides });
  const datasets = new DatasetsService(
    datasetsRepository as unknown as DatasetsRepository,
    transactions,
    outbox.asRelay(),
    config,
  );
  const feedback = new FeedbackService(
    feedbackRepository as unknown as FeedbackRepository,
    datasetsRepository as unknown as DatasetsRepository,
    datasets,
    config,
  );
  return { transactions, datasetsRepository, feedbackRepository, outbox, datasets, feedback };
}
