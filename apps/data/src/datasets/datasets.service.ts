import { Inject, Injectable, Logger } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetDiffView, InvalidInputError, NotFoundError, UnprocessableError } from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { DataConfig, DataConfigValues } from '../data.config';
import { DATASET_CATALOG, findDefinition } from '../catalog/catalog';
import { DatasetDefinition } from '../catalog/dataset-definition';
import { AppliedCleaningRule } from './domain/cleaning';
import { readImport } from './domain/read-import';
import { buildVersionContent, DatasetSchema, VersionRow, VersionRowInput } from './domain/version-content';
import { DatasetsRepository, VersionRecord } from './datasets.repository';
import { parseVersionRef } from './version-ref';

export interface ImportRequest {
  dataset: string;
  /** Raw file text; when absent the shipped file of the dataset is imported. */
  content?: string;
  fileName?: string;
}

export interface VersionOutcome {
  version: VersionRecord;
  created: boolean;
}

export interface NewRows {
  /** Read inside the version's transaction, after the dataset lock, so concurrent writers never share rows. */
  rows: (tx: Transaction) => Promise<VersionRowInput[]>;
  reason: VersionRecord['reason'];
  source: Record<string, unknown>;
  /** Runs in the version's transaction once the version is written (e.g. marks feedback committed). */
  afterInsert?: (tx: Transaction, version: VersionRecord) => Promise<void>;
}

@Injectable()
export class DatasetsService {
  private readonly logger = new Logger(DatasetsService.name);

  constructor(
    private readonly repository: DatasetsRepository,
    private readonly transactions: TransactionRunner,
    private readonly outbox: OutboxRelay,
    @Inject(DataConfig) private readonly config: DataConfigValues,
  ) {}

  catalog(): readonly DatasetDefinition[] {
    return DATASET_CATALOG;
  }

  definition(name: string): DatasetDefinition {
    const definition = findDefinition(name);
    if (!definition) {
      throw new NotFoundError(
        `unknown dataset '${name}'`,
        `Known datasets: ${DATASET_CATALOG.map((d) => d.name).join(', ')}.`,
      );
    }
    return definition;
  }

  /** Parses, cleans and encodes a raw file; nothing is written unless all of it is valid. */
  async importDataset(request: ImportRequest, correlationId?: string): Promise<VersionOutcome> {
    const definition = this.definition(request.dataset);
    const fileName = request.fileName ?? definition.file;
    const text = request.content ?? (await readFile(join(this.config.DATA_DIR, definition.file), 'utf8'));
    const { schema, rows, applied } = readImport(text, definition, fileName);
    return this.writeVersion(
      definition,
      schema,
      { rows: async () => rows, reason: 'import', source: { file: fileName, rows: rows.length } },
      applied,
      correlationId,
      false,
    );
  }

  /**
   * Writes a new version built from `newRows` (import) or from the latest version plus `newRows` (feedback).
   * Identical content returns the existing version; the dataset row lock serialises concurrent writers.
   */
  async writeVersion(
    definition: DatasetDefinition,
    schema: DatasetSchema,
    change: NewRows,
    cleaningRules: AppliedCleaningRule[],
    correlationId: string | undefined,
    appendToLatest: boolean,
  ): Promise<VersionOutcome> {
    const outcome = await this.transactions.run(async (tx) => {
      await this.repository.ensureDatasetLocked(tx, { ...definition, schema });
      const parent = await this.repository.latestVersion(definition.name, tx);
      if (appendToLatest && !parent) {
        throw new UnprocessableError(
          `dataset '${definition.name}' has no version yet`,
          `Import it first: POST /datasets/${definition.name}/import.`,
        );
      }
      const parentRows: VersionRow[] = parent ? await this.repository.allRows(parent.id, tx) : [];
      const inherited = new Map(parentRows.map((row) => [row.key, row.split]));
      const newRows = await change.rows(tx);
      const rows = appendToLatest ? [...parentRows, ...newRows] : newRows;
      const policy = { testFraction: this.config.SPLIT_TEST_FRACTION, seed: this.config.SPLIT_SEED };
      const content = buildVersionContent(appendToLatest && parent ? parent.schema : schema, rows, {
        ...policy,
        inherited,
      });
      const existing = await this.repository.versionById(content.id, tx);
      if (existing) return { version: existing, created: false };
      const version = await this.repository.insertVersion(
        tx,
        {
          id: content.id,
          dataset: definition.name,
          parentId: parent?.id ?? null,
          reason: change.reason,
          schema: content.schema,
          rowCount: content.rows.length,
          trainRows: content.trainRows,
          testRows: content.testRows,
          classCounts: content.classCounts,
          cleaningRules: appendToLatest && parent ? parent.cleaningRules : cleaningRules,
          splitPolicy: { ...policy, method: 'stratified-hash-stable' },
          source: change.source,
        },
        content.rows,
      );
      await change.afterInsert?.(tx, version);
      await this.repository.announceVersion(
        tx,
        {
          dataset: version.dataset,
          version: version.id,
          parentVersion: version.parentId,
          rowCount: version.rowCount,
          trainRows: version.trainRows,
          testRows: version.testRows,
          classCounts: sumCounts(version),
          reason: version.reason,
          createdAt: version.createdAt,
        },
        correlationId,
      );
      return { version, created: true };
    });
    if (outcome.created) {
      this.logger.log(
        `dataset ${outcome.version.dataset} v${outcome.version.seq} ${outcome.version.id.slice(0, 12)} (${outcome.version.reason}, ${outcome.version.rowCount} rows)`,
      );
      void this.outbox.flush();
    }
    return outcome;
  }

  async listDatasets() {
    return this.repository.listDatasets();
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    this.definition(dataset);
    return this.repository.listVersions(dataset);
  }

  async resolveVersion(dataset: string, refText: string): Promise<VersionRecord> {
    this.definition(dataset);
    const ref = parseVersionRef(refText);
    if (ref.kind === 'latest') {
      const latest = await this.repository.latestVersion(dataset);
      if (!latest) {
        throw new NotFoundError(
          `dataset '${dataset}' has no version yet`,
          `Import it: POST /datasets/${dataset}/import.`,
        );
      }
      return latest;
    }
    const found = await this.repository.findVersions(
      dataset,
      ref.kind === 'seq' ? { seq: ref.seq } : { prefix: ref.prefix },
    );
    if (found.length === 0) {
      throw new NotFoundError(
        `dataset '${dataset}' has no version '${refText}'`,
        `List the versions: GET /datasets/${dataset}/versions.`,
      );
    }
    if (found.length > 1) {
      throw new InvalidInputError(
        `'${refText}' matches several versions of '${dataset}'`,
        'Give more characters of the id.',
      );
    }
    return found[0];
  }

  async diff(dataset: string, fromRef: string, toRef: string): Promise<DatasetDiffView> {
    const [from, to] = [
      await this.resolveVersion(dataset, fromRef),
      await this.resolveVersion(dataset, toRef),
    ];
    const [fromRows, toRows] = [await this.repository.allRows(from.id), await this.repository.allRows(to.id)];
    const fromSplit = new Map(fromRows.map((r) => [r.key, r.split]));
    const toKeys = new Set(toRows.map((r) => r.key));
    const labels = to.schema.labels;
    const describe = (r: VersionRow) => ({
      key: r.key,
      features: r.features,
      label: labels[r.label] ?? String(r.label),
      split: r.split,
      origin: r.origin,
    });
    const added = toRows.filter((r) => !fromSplit.has(r.key)).map(describe);
    const removed = fromRows.filter((r) => !toKeys.has(r.key)).map(describe);
    const moved = toRows.filter((r) => fromSplit.has(r.key) && fromSplit.get(r.key) !== r.split).length;
    return {
      dataset,
      from: { id: from.id, seq: from.seq, rowCount: from.rowCount, classCounts: from.classCounts },
      to: { id: to.id, seq: to.seq, rowCount: to.rowCount, classCounts: to.classCounts },
      rowsAdded: added.length,
      rowsRemoved: removed.length,
      rowsMovedBetweenSplits: moved,
      added: added.slice(0, 1000),
      removed: removed.slice(0, 1000),
    };
  }

  rowPage(version: VersionRecord, split: 'train' | 'test' | undefined, cursor: number, limit: number) {
    return this.repository.rowPage(version.id, split, cursor, limit);
  }

  /** CSV text of a version or one split, header first, class names decoded; written page by page. */
  async *exportCsv(version: VersionRecord, split?: 'train' | 'test'): AsyncGenerator<string> {
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    yield `${[...version.schema.features, version.schema.target, 'split'].map(quote).join(',')}\n`;
    let cursor = -1;
    for (;;) {
      const page = await this.repository.rowPage(version.id, split, cursor, 5000);
      yield page.features
        .map((f, i) => `${f.join(',')},${quote(version.schema.labels[page.labels[i]])},${page.splits[i]}`)
        .join('\n')
        .concat(page.features.length ? '\n' : '');
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }
}

function sumCounts(version: VersionRecord): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const split of [version.classCounts.train, version.classCounts.test]) {
    for (const [label, n] of Object.entries(split)) totals[label] = (totals[label] ?? 0) + n;
  }
  return totals;
}
