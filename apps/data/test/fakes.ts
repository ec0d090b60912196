import { type DataAuditEntry, type DatasetSchema, type FeatureCell, NotFoundError } from '@sepal/contracts';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { DataAuditRepository } from '../src/audit/data-audit.repository';
import { DataAuditService } from '../src/audit/data-audit.service';
import type { VersionRecord } from '../src/datasets/dataset-versions.repository';
import type { AppendChange, AppendedRow } from '../src/datasets/version-writer.service';
import type { FeedbackRecord } from '../src/feedback/feedback.repository';
import type { EvaluationSetRecord, VersionStep } from '../src/evaluation/evaluation-sets.repository';
import type { EvaluationSetStore } from '../src/evaluation/evaluation-sets.service';

/** In-memory stand-ins for the data service's ports, for the services' unit specs. */

/** Runs each unit of work at once on a handle that carries nothing (the fakes ignore it). */
export class FakeTransactions extends TransactionRunner {
  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return work(fakeTransaction());
  }
}

/** The audit log in memory, behind the real service. */
export function inMemoryAudit(): { service: DataAuditService; entries: Omit<DataAuditEntry, 'id' | 'at'>[] } {
  const entries: Omit<DataAuditEntry, 'id' | 'at'>[] = [];
  const repository = {
    insert: async (entry: Omit<DataAuditEntry, 'id' | 'at'>) => void entries.push(entry),
    list: async () => [],
  } as unknown as DataAuditRepository;
  return { service: new DataAuditService(repository), entries };
}

export const schema = (features = ['a', 'b'], labels = ['x', 'y']): DatasetSchema => ({
  features,
  target: 'label',
  task: 'classification',
  labels,
});

/** A stored row as data.rows holds it. */
export interface FakeRow {
  rowId: number;
  split: 'train' | 'test';
  origin: string;
  addedSeq: number;
  removedSeq: number | null;
  features: FeatureCell[];
  label: number;
}

/** data.rows, data.dataset_versions, the audit's importers and the evaluation sets, in memory. */
export class InMemoryEvaluationStore implements EvaluationSetStore {
  readonly versions: VersionStep[] = [];
  readonly rows: FakeRow[] = [];
  readonly importers = new Map<string, string>();
  readonly sets = new Map<string, EvaluationSetRecord>();
  readonly members = new Map<string, Set<number>>();
  datasets = new Set(['data']);

  /**
   * Adds a version whose rows are `rows` (split and origin), added at its sequence number; `replace`: its parent's
   * rows are removed (an import under a new schema keeps none).
   */
  addVersion(
    reason: VersionStep['reason'],
    rows: { split: 'train' | 'test'; origin: string }[],
    versionSchema = schema(),
    replace = false,
  ): VersionStep {
    const seq = this.versions.length + 1;
    const version = { id: String(seq).repeat(64).slice(0, 64), seq, reason, schema: versionSchema };
    this.versions.push(version);
    if (replace) for (const r of this.rows) r.removedSeq ??= seq;
    for (const row of rows) {
      this.rows.push({
        rowId: this.rows.length + 1,
        ...row,
        addedSeq: seq,
        removedSeq: null,
        features: [seq, this.rows.length],
        label: 0,
      });
    }
    return version;
  }

  private key(set: Pick<EvaluationSetRecord, 'model' | 'dataset'>) {
    return `${set.model}@${set.dataset}`;
  }

  async lockDataset(_tx: Transaction, dataset: string) {
    return this.datasets.has(dataset);
  }

  async find(model: string, dataset: string) {
    return this.sets.get(this.key({ model, dataset })) ?? null;
  }

  async version(_tx: Transaction, _dataset: string, id: string) {
    return this.versions.find((v) => v.id === id) ?? null;
  }

  async versionsAfter(_tx: Transaction, _dataset: string, seq: number) {
    return this.versions.filter((v) => v.seq > seq);
  }

  async importer(_tx: Transaction, versionId: string) {
    return this.importers.get(versionId) ?? null;
  }

  async save(_tx: Transaction, set: Omit<EvaluationSetRecord, 'frozenAt'>) {
    this.sets.set(this.key(set), { ...set, frozenAt: new Date(0).toISOString() });
    this.members.set(this.key(set), new Set());
  }

  async markSeen(_tx: Transaction, set: EvaluationSetRecord, seq: number, seen: DatasetSchema) {
    this.sets.set(this.key(set), { ...set, seenSeq: seq, schema: seen });
  }

  async takeTestRows(
    _tx: Transaction,
    set: Pick<EvaluationSetRecord, 'model' | 'dataset'>,
    version: VersionStep,
    which: 'live' | 'added',
  ) {
    const members = this.members.get(this.key(set)) ?? new Set<number>();
    this.members.set(this.key(set), members);
    const live = (r: FakeRow) =>
      r.addedSeq <= version.seq && (r.removedSeq === null || r.removedSeq > version.seq);
    const taken = this.rows.filter(
      (r) =>
        (which === 'live' ? live(r) : r.addedSeq === version.seq) &&
        r.split === 'test' &&
        !r.origin.startsWith('feedback:') &&
        !members.has(r.rowId),
    );
    for (const r of taken) members.add(r.rowId);
    return taken.length;
  }

  async count(model: string, dataset: string) {
    return this.members.get(this.key({ model, dataset }))?.size ?? 0;
  }

  async page(model: string, dataset: string, cursor: number, limit: number) {
    const ids = [...(this.members.get(this.key({ model, dataset })) ?? [])]
      .filter((id) => id > cursor)
      .sort((a, b) => a - b);
    const kept = ids.slice(0, limit).map((id) => this.rows[id - 1]);
    return {
      features: kept.map((r) => r.features),
      labels: kept.map((r) => r.label),
      nextCursor: ids.length > limit ? kept[kept.length - 1].rowId : null,
    };
  }

  /** The origins of a set's rows, in row-id order. */
  origins(model: string, dataset = 'data'): string[] {
    return [...(this.members.get(this.key({ model, dataset })) ?? [])]
      .sort((a, b) => a - b)
      .map((id) => this.rows[id - 1].origin);
  }
}

/** data.feedback in memory (the FeedbackRepository port). */
export class InMemoryFeedback {
  readonly rows: FeedbackRecord[] = [];

  async insert(record: Omit<FeedbackRecord, 'receivedAt' | 'committedVersion'>, messageId?: string) {
    const existing = this.rows.find(
      (r) =>
        (messageId !== undefined && this.messageIds.get(r.id) === messageId) ||
        (record.clientId !== null &&
          r.clientId === record.clientId &&
          r.submittedBy === record.submittedBy &&
          r.dataset === record.dataset),
    );
    if (existing) return existing;
    const stored = { ...record, receivedAt: new Date(0).toISOString(), committedVersion: null };
    this.rows.push(stored);
    if (messageId !== undefined) this.messageIds.set(stored.id, messageId);
    return stored;
  }

  private readonly messageIds = new Map<string, string>();

  async pending(_tx: Transaction, dataset: string) {
    return this.rows.filter((r) => r.dataset === dataset && r.committedVersion === null);
  }

  async countPending(dataset: string) {
    return (await this.pending(fakeTransaction(), dataset)).length;
  }

  async markCommitted(_tx: Transaction, ids: string[], versionId: string) {
    for (const r of this.rows) if (ids.includes(r.id)) r.committedVersion = versionId;
  }

  async list(dataset: string) {
    return this.rows.filter((r) => r.dataset === dataset);
  }
}

/** The parts of DatasetsService, VersionWriterService and DatasetVersionsRepository feedback uses: one dataset with one version, appends recorded. */
export class FakeDatasets {
  readonly appended: { change: AppendChange; rows: AppendedRow[] }[] = [];
  readonly latest = {
    id: 'a'.repeat(64),
    schema: schema(),
    stats: { strata: {}, ranges: [null, null] },
  } as unknown as VersionRecord;

  async requireDataset(name: string) {
    if (name !== 'data') throw new NotFoundError(`unknown dataset '${name}'`);
  }

  async latestVersion() {
    return this.latest;
  }

  async computeStats() {
    return this.latest.stats;
  }

  async appendRows(_dataset: string, change: AppendChange) {
    const tx = fakeTransaction();
    const rows = await change.rows(tx);
    const version = { ...this.latest, id: String(this.appended.length + 2).repeat(64) } as VersionRecord;
    this.appended.push({ change, rows });
    await change.afterInsert?.(tx, version);
    return { version, created: true, rowsWritten: rows.length, rowsRemoved: 0 };
  }
}
