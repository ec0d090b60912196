import { Inject, Injectable, Logger } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  DatasetDiffView,
  DatasetSchema,
  FeatureCell,
  featureColumnsOf,
  ImportDryRunResponse,
  ImportQuery,
  InvalidInputError,
  NotFoundError,
  TooManyRequestsError,
  UnprocessableError,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { DataConfig, DataConfigValues } from '../data.config';
import { DATASET_CATALOG, findDefinition } from '../catalog/catalog';
import { DatasetDefinition } from '../catalog/dataset-definition';
import { AppliedCleaningRule } from './domain/cleaning';
import { addSums, versionId } from './domain/content-hash';
import { csvCell, csvText } from './domain/csv-export';
import { ImportOptions } from './domain/csv-import';
import { BodyTooLargeError } from './domain/csv-stream';
import {
  binCount,
  classCountsOf,
  mergeRanges,
  mergeStrata,
  StrataCounts,
  testQuotas,
  VersionStats,
} from './domain/version-stats';
import { DatasetsRepository, StoredRow, VersionRecord } from './datasets.repository';
import { runImportWorker } from './import/import-job';
import { parseVersionRef } from './version-ref';

export interface ImportRequest {
  dataset: string;
  /** The CSV, streamed; absent for a built-in dataset's shipped file. */
  body?: AsyncIterable<Buffer | string>;
  /** The declared size of the body (Content-Length), refused at once when over the limit. */
  declaredBytes?: number;
  query: ImportQuery;
}

export interface VersionOutcome {
  version: VersionRecord;
  created: boolean;
  /** Rows this version wrote to storage, and rows of its parent it marked removed. */
  rowsWritten: number;
  rowsRemoved: number;
}

/** A row a feedback commit appends to the latest version. */
export interface AppendedRow {
  key: string;
  features: FeatureCell[];
  label: number;
  origin: string;
}

export interface AppendChange {
  /** Read inside the version's transaction, after the dataset lock, so concurrent writers never share rows. */
  rows: (tx: Transaction) => Promise<AppendedRow[]>;
  reason: VersionRecord['reason'];
  source: Record<string, unknown>;
  /** Every appended row goes to the train split (feedback: it never enters a test split, which decides promotions). */
  trainOnly?: boolean;
  /** Runs in the version's transaction once the version is written (e.g. marks feedback committed). */
  afterInsert?: (tx: Transaction, version: VersionRecord) => Promise<void>;
}

/** Dataset names: what is safe in a URL, a file name and a log line. */
const SAFE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const STAGE_BATCH = 5000;
const MAX_PROBLEMS = 100;

/** Thrown inside a version's transaction when its content already is a version: rolls the write back. */
class IdenticalContent extends Error {
  constructor(readonly existing: VersionRecord) {
    super(`identical content is version ${existing.id}`);
  }
}

interface NewContent {
  /** Rows staged (the new content of an import, the rows appended by a commit). */
  stagedRows: number;
  dataset: string;
  parent: VersionRecord | null;
  schema: DatasetSchema;
  append: boolean;
  inherit: boolean;
  reason: VersionRecord['reason'];
  source: Record<string, unknown>;
  cleaningRules: AppliedCleaningRule[];
  ranges: VersionStats['ranges'];
  trainOnly?: boolean;
  afterInsert?: (tx: Transaction, version: VersionRecord) => Promise<void>;
}

@Injectable()
export class DatasetsService {
  private readonly logger = new Logger(DatasetsService.name);
  /** Imports and dry runs reading now (each in a worker thread); at most DATA_MAX_CONCURRENT_IMPORTS. */
  private importsRunning = 0;

  constructor(
    private readonly repository: DatasetsRepository,
    private readonly transactions: TransactionRunner,
    private readonly outbox: OutboxRelay,
    @Inject(DataConfig) private readonly config: DataConfigValues,
  ) {}

  catalog(): readonly DatasetDefinition[] {
    return DATASET_CATALOG;
  }

  /** Refuses a name that is not a safe identifier (400). */
  checkName(name: string): string {
    if (!SAFE_NAME.test(name)) {
      throw new InvalidInputError(
        `dataset name '${name.slice(0, 80)}' is not a safe identifier`,
        'Use 1-63 characters: a lowercase letter, then lowercase letters, digits, - or _.',
      );
    }
    return name;
  }

  /** A dataset that exists (built in, or imported); 404 naming the known ones otherwise. */
  async requireDataset(name: string): Promise<void> {
    this.checkName(name);
    if (findDefinition(name) || (await this.repository.datasetExists(name))) return;
    const imported = (await this.repository.listDatasets()).map((d) => d.name);
    const known = [...new Set([...DATASET_CATALOG.map((d) => d.name), ...imported])];
    throw new NotFoundError(
      `unknown dataset '${name}'`,
      `Known datasets: ${known.join(', ')}. Import a CSV: POST /datasets/${name}/import with Content-Type text/csv.`,
    );
  }

  private importOptions(
    definition: DatasetDefinition | undefined,
    query: ImportQuery,
    existing: DatasetSchema | undefined,
  ): ImportOptions {
    const task = query.task ?? (existing ? undefined : definition?.task);
    return {
      target: query.target ?? definition?.target,
      task,
      features: query.features ?? (existing ? undefined : definition?.features),
      categorical: query.categorical,
      delimiter: query.delimiter ?? definition?.format.delimiter,
      header: query.header ?? definition?.format.header,
      columnNames:
        definition && !definition.format.header ? [...definition.features, definition.target] : undefined,
      classes: (task ?? existing?.task) === 'regression' ? undefined : definition?.classes,
      cleaningRules: definition?.cleaningRules,
      existing,
    };
  }

  private source(request: ImportRequest, definition: DatasetDefinition | undefined) {
    if (request.body) return { stream: request.body, fileName: request.query.fileName ?? 'upload.csv' };
    if (!definition) {
      throw new InvalidInputError(
        `there is no CSV to import: '${request.dataset}' is not a built-in dataset and the request has no body`,
        `Send the CSV as the body with Content-Type: text/csv (CLI: sepal data import ${request.dataset} --file data.csv --target <column>). Built-in: ${DATASET_CATALOG.map((d) => d.name).join(', ')}.`,
      );
    }
    return {
      stream: createReadStream(join(this.config.DATA_DIR, definition.file)),
      fileName: request.query.fileName ?? definition.file,
    };
  }

  /**
   * Imports a CSV (streamed) or a built-in dataset's shipped file: the schema is inferred on the first import and
   * checked on later ones; rows are staged and the version written in one transaction, so a refused or broken
   * stream leaves nothing behind. Identical content answers the existing version.
   */
  async importDataset(
    request: ImportRequest,
    correlationId?: string,
  ): Promise<VersionOutcome | ImportDryRunResponse> {
    const name = this.checkName(request.dataset);
    const definition = findDefinition(name);
    // A slot is taken first: a refused import opens no file, holds no connection and waits on no lock.
    return this.inImportSlot(async () => {
      const { stream, fileName } = this.source(request, definition);
      if (request.query.dryRun) return this.dryRun(request, definition, stream);
      return this.importInTransaction(request, name, definition, stream, fileName, correlationId);
    });
  }

  private importInTransaction(
    request: ImportRequest,
    name: string,
    definition: DatasetDefinition | undefined,
    stream: AsyncIterable<Buffer | string>,
    fileName: string,
    correlationId?: string,
  ): Promise<VersionOutcome> {
    return this.flushed(async (tx) => {
      await this.repository.ensureDatasetLocked(tx, {
        name,
        description: definition?.description ?? `Imported from ${fileName}.`,
      });
      const parent = await this.repository.latestVersion(name, tx);
      const existing = request.query.newSchema ? undefined : parent?.schema;
      const options = this.importOptions(definition, request.query, existing);
      this.checkDeclaredBytes(request);
      await this.repository.createStage(tx);
      const { summary } = await runImportWorker(
        stream,
        { ...this.workerData(name, fileName, options), dryRun: false, copy: this.repository.canCopy(tx) },
        (batch) => this.repository.stageBatch(tx, batch),
      );
      const { rows, schema } = summary;
      return this.finishVersion(
        tx,
        {
          stagedRows: rows,
          dataset: name,
          parent,
          schema,
          append: false,
          inherit: parent !== null && sameBase(parent.schema, schema),
          reason: 'import',
          source: { file: fileName, rows, bytes: summary.bytes },
          cleaningRules: summary.cleaningRules,
          ranges: summary.ranges,
        },
        correlationId,
      );
    });
  }

  /** A body declared (Content-Length) over the limit is refused before a byte of it is read. */
  private checkDeclaredBytes(request: ImportRequest): void {
    const max = this.config.DATA_MAX_IMPORT_BYTES;
    if (request.declaredBytes !== undefined && request.declaredBytes > max) {
      throw new BodyTooLargeError(max, 'DATA_MAX_IMPORT_BYTES');
    }
  }

  /** What the import worker needs to read a file (the reading runs off this event loop). */
  private workerData(dataset: string, fileName: string, options: ImportOptions) {
    return {
      options,
      maxBytes: this.config.DATA_MAX_IMPORT_BYTES,
      limitSetting: 'DATA_MAX_IMPORT_BYTES',
      dataset,
      fileName,
      seed: String(this.config.SPLIT_SEED),
      copy: false,
      batchRows: STAGE_BATCH,
      maxProblems: MAX_PROBLEMS,
    };
  }

  /** Runs a version's write in one transaction, then relays its dataset.versioned event. */
  private async flushed(work: (tx: Transaction) => Promise<VersionOutcome>): Promise<VersionOutcome> {
    let outcome: VersionOutcome;
    try {
      outcome = await this.transactions.run(work);
    } catch (error) {
      if (error instanceof IdenticalContent) {
        return { version: error.existing, created: false, rowsWritten: 0, rowsRemoved: 0 };
      }
      throw error;
    }
    if (outcome.created) void this.outbox.flush();
    return outcome;
  }

  /**
   * Runs an import (or a dry run) in one of DATA_MAX_CONCURRENT_IMPORTS slots: each holds a worker thread and a
   * transaction, so a client cannot start more at once; beyond, 429 naming the setting.
   */
  private async inImportSlot<T>(work: () => Promise<T>): Promise<T> {
    const max = this.config.DATA_MAX_CONCURRENT_IMPORTS;
    if (this.importsRunning >= max) {
      throw new TooManyRequestsError(
        `${max} imports are already running (DATA_MAX_CONCURRENT_IMPORTS=${max})`,
        'Retry when one has finished, or raise DATA_MAX_CONCURRENT_IMPORTS.',
      );
    }
    this.importsRunning += 1;
    try {
      return await work();
    } finally {
      this.importsRunning -= 1;
    }
  }

  /** Reads the whole file as an import would and reports the schema, the row count and every problem; writes nothing. */
  private async dryRun(
    request: ImportRequest,
    definition: DatasetDefinition | undefined,
    stream: AsyncIterable<Buffer | string>,
  ): Promise<ImportDryRunResponse> {
    const parent = await this.repository.latestVersion(request.dataset);
    const existing = request.query.newSchema ? undefined : parent?.schema;
    const options = this.importOptions(definition, request.query, existing);
    this.checkDeclaredBytes(request);
    const { summary } = await runImportWorker(stream, {
      ...this.workerData(request.dataset, request.query.fileName ?? 'upload.csv', options),
      dryRun: true,
    });
    return { dryRun: true, ...summary };
  }

  /** Appends rows (committed feedback) to the latest version: the child writes only those rows. */
  async appendRows(dataset: string, change: AppendChange, correlationId?: string): Promise<VersionOutcome> {
    await this.requireDataset(dataset);
    return this.flushed(async (tx) => {
      await this.repository.ensureDatasetLocked(tx, { name: dataset, description: '' });
      const parent = await this.repository.latestVersion(dataset, tx);
      if (!parent) {
        throw new UnprocessableError(
          `dataset '${dataset}' has no version yet`,
          `Import it first: POST /datasets/${dataset}/import.`,
        );
      }
      const rows = await change.rows(tx);
      await this.repository.createStage(tx);
      await this.repository.stageKeyedRows(
        tx,
        rows.map((r) => ({
          key: r.key,
          featuresJson: JSON.stringify(r.features),
          label: r.label,
          origin: r.origin,
        })),
      );
      const ranges = parent.schema.features.map((_, i) => {
        const values = rows.map((r) => r.features[i]).filter((v): v is number => typeof v === 'number');
        return values.length ? { min: Math.min(...values), max: Math.max(...values) } : null;
      });
      const parentStats = parent.stats ?? (await this.repository.computeStats(parent, tx));
      return this.finishVersion(
        tx,
        {
          stagedRows: rows.length,
          dataset,
          parent,
          schema: parent.schema,
          append: true,
          inherit: true,
          reason: change.reason,
          source: change.source,
          cleaningRules: parent.cleaningRules,
          ranges: mergeRanges(parentStats.ranges, ranges),
          trainOnly: change.trainOnly,
          afterInsert: change.afterInsert,
        },
        correlationId,
      );
    });
  }

  /**
   * Splits the staged content's fresh rows (stratified, seeded, hash-ranked; inherited rows keep their split),
   * names the version by the canonical hash of its whole content (computed incrementally from the parent's),
   * and writes it unless identical content already is a version.
   */
  private async finishVersion(
    tx: Transaction,
    content: NewContent,
    correlationId?: string,
  ): Promise<VersionOutcome> {
    const { parent, schema, append, inherit, dataset } = content;
    const testFraction = this.config.SPLIT_TEST_FRACTION;
    const seed = this.config.SPLIT_SEED;
    const parentStats =
      parent && inherit ? (parent.stats ?? (await this.repository.computeStats(parent, tx))) : null;
    let edges: number[] = [];
    if (schema.task === 'regression') {
      edges =
        inherit && parentStats?.edges
          ? parentStats.edges
          : await this.repository.quantileEdges(tx, binCount(content.stagedRows, testFraction));
    }
    let inherited: StrataCounts = {};
    let removedSum = 0n;
    let fresh: Record<string, number>;
    // Nothing inherited: every staged row is written, straight from the stage.
    const fromStage = !append && !inherit;
    if (append) {
      inherited = parentStats?.strata ?? {};
      fresh = await this.repository.selectFresh(tx, {
        dataset,
        inherit: false,
        seed,
        task: schema.task,
        edges,
      });
    } else if (inherit) {
      await this.repository.keyStagedRows(tx, schema.task, schema.labels);
      const kept = await this.repository.inheritedRows(tx, dataset, { task: schema.task, edges });
      inherited = kept.strata;
      removedSum = kept.removedSum;
      fresh = await this.repository.selectFresh(tx, {
        dataset,
        inherit: true,
        seed,
        task: schema.task,
        edges,
      });
    } else {
      fresh = await this.repository.freshFromStage(tx, {
        task: schema.task,
        labels: schema.labels,
        seed,
        edges,
      });
    }
    const seq = await this.repository.nextSeq(tx, dataset);
    // No quota: every fresh row goes to train.
    const quotas = content.trainOnly ? {} : testQuotas(inherited, fresh, testFraction);
    const split = fromStage
      ? await this.repository.insertStaged(tx, {
          dataset,
          seq,
          quotas,
          counts: fresh,
          task: schema.task,
          labels: schema.labels,
          edges,
        })
      : await this.repository.insertFresh(tx, { dataset, seq, quotas, task: schema.task, edges });
    const strata = mergeStrata(inherited, split.strata);
    const contentSum = inherit
      ? addSums(parent?.contentSum ?? null, split.addedSum, removedSum)
      : addSums(null, split.addedSum, 0n);
    const id = versionId(schema, contentSum);
    const existing = await this.repository.versionById(id, tx);
    // Identical content is one version: undo the rows just written (the whole transaction) and answer it.
    if (existing) throw new IdenticalContent(existing);
    const rowsRemoved = append ? 0 : await this.repository.markRemoved(tx, dataset, seq, inherit);

    const trainRows = Object.values(strata).reduce((n, s) => n + s.train, 0);
    const testRows = Object.values(strata).reduce((n, s) => n + s.test, 0);
    const version = await this.repository.insertVersion(tx, {
      id,
      dataset,
      seq,
      parentId: parent?.id ?? null,
      reason: content.reason,
      schema,
      rowCount: trainRows + testRows,
      trainRows,
      testRows,
      classCounts: classCountsOf(schema, strata),
      cleaningRules: content.cleaningRules,
      splitPolicy: {
        testFraction,
        seed,
        method: schema.task === 'regression' ? 'quantile-stratified-hash-stable' : 'stratified-hash-stable',
      },
      source: content.source,
      contentSum,
      stats: { strata, ranges: content.ranges, ...(schema.task === 'regression' ? { edges } : {}) },
    });
    await this.repository.setDatasetSchema(tx, dataset, schema);
    await content.afterInsert?.(tx, version);
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
    await this.repository.dropStage(tx);
    this.logger.log(
      `dataset ${dataset} v${version.seq} ${version.id.slice(0, 12)} (${version.reason}, ${version.rowCount} rows, ${split.added} written, ${rowsRemoved} removed)`,
    );
    return { version, created: true, rowsWritten: split.added, rowsRemoved };
  }

  async listDatasets() {
    return this.repository.listDatasets();
  }

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    await this.requireDataset(dataset);
    return this.repository.listVersions(dataset);
  }

  async resolveVersion(dataset: string, refText: string): Promise<VersionRecord> {
    await this.requireDataset(dataset);
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
    const from = await this.resolveVersion(dataset, fromRef);
    const to = await this.resolveVersion(dataset, toRef);
    const d = await this.repository.diffRows(dataset, from.seq, to.seq, 1000);
    const describe = (r: StoredRow) => ({
      key: r.key,
      features: r.features,
      label: labelText(to.schema, r.label),
      split: r.split,
      origin: r.origin,
    });
    return {
      dataset,
      from: { id: from.id, seq: from.seq, rowCount: from.rowCount, classCounts: from.classCounts },
      to: { id: to.id, seq: to.seq, rowCount: to.rowCount, classCounts: to.classCounts },
      rowsAdded: d.addedCount,
      rowsRemoved: d.removedCount,
      rowsMovedBetweenSplits: d.moved,
      added: d.added.map(describe),
      removed: d.removed.map(describe),
    };
  }

  rowPage(version: VersionRecord, split: 'train' | 'test' | undefined, cursor: number, limit: number) {
    return this.repository.rowPage(version, split, cursor, limit);
  }

  /** Rows the storage holds for a dataset, over all its versions. */
  storedRowCount(dataset: string): Promise<number> {
    return this.repository.storedRowCount(dataset);
  }

  /**
   * CSV text of a version or one split, header first, class names decoded; written page by page. A text cell a
   * spreadsheet would run as a formula is escaped (csvText).
   */
  async *exportCsv(version: VersionRecord, split?: 'train' | 'test'): AsyncGenerator<string> {
    yield `${[...version.schema.features, version.schema.target, 'split'].map(csvText).join(',')}\n`;
    let cursor = -1;
    for (;;) {
      const page = await this.repository.rowPage(version, split, cursor, 5000);
      yield page.features
        .map(
          (f, i) =>
            `${f.map(csvCell).join(',')},${csvCell(labelText(version.schema, page.labels[i]))},${page.splits[i]}`,
        )
        .join('\n')
        .concat(page.features.length ? '\n' : '');
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }
}

/** The class name (classification) or the target value (regression) of a stored label. */
export function labelText(schema: DatasetSchema, label: number): string | number {
  return schema.task === 'regression' ? label : (schema.labels[label] ?? String(label));
}

/** A schema whose rows a parent's rows can be kept under: same columns, target and task, labels only appended. */
export function sameBase(parent: DatasetSchema, next: DatasetSchema): boolean {
  const a = featureColumnsOf(parent);
  const b = featureColumnsOf(next);
  return (
    parent.target === next.target &&
    parent.task === next.task &&
    a.length === b.length &&
    a.every((c, i) => c.name === b[i].name && c.type === b[i].type) &&
    parent.labels.every((label, i) => next.labels[i] === label)
  );
}

function sumCounts(version: VersionRecord): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const split of [version.classCounts.train, version.classCounts.test]) {
    for (const [label, n] of Object.entries(split)) totals[label] = (totals[label] ?? 0) + n;
  }
  return totals;
}
