import { Inject, Injectable, Logger } from '@nestjs/common';
import { DatasetSchema, FeatureCell, UnprocessableError } from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { Transaction, TransactionRunner } from '@sepal/persistence';
import { DataConfig, DataConfigValues } from '../data.config';
import { DatasetVersionsRepository, VersionRecord } from './dataset-versions.repository';
import { DatasetsRepository } from './datasets.repository';
import { DatasetsService } from './datasets.service';
import { AppliedCleaningRule } from './domain/cleaning';
import { addSums, versionId } from './domain/content-hash';
import {
  binCount,
  classCountsOf,
  mergeRanges,
  mergeStrata,
  StrataCounts,
  testQuotas,
  VersionStats,
} from './domain/version-stats';
import { RowWritesRepository } from './row-writes.repository';
import { StagingRepository } from './staging.repository';

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
  /** The version's lineage; a function is called once `rows` has run (lineage that depends on the rows read). */
  source: Record<string, unknown> | (() => Record<string, unknown>);
  /** Every appended row goes to the train split (feedback: it never enters a test split, which decides promotions). */
  trainOnly?: boolean;
  /** Runs in the version's transaction once the version is written (e.g. marks feedback committed). */
  afterInsert?: (tx: Transaction, version: VersionRecord) => Promise<void>;
}

/** Thrown inside a version's transaction when its content already is a version: rolls the write back. */
class IdenticalContent extends Error {
  constructor(readonly existing: VersionRecord) {
    super(`identical content is version ${existing.id}`);
  }
}

/** The new content of a version, staged in its transaction. */
export interface NewContent {
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
  /**
   * Test rows per stratum when the source declares each row's split (IDX train/t10k files): used as the quotas,
   * with the declared test rows ranked first. Only without inherited rows (inherit false).
   */
  declaredTest?: Record<string, number>;
  afterInsert?: (tx: Transaction, version: VersionRecord) => Promise<void>;
}

/**
 * Writes versions: the split of a version's fresh rows (stratified, seeded, hash-ranked), its content-hash name,
 * its record and its dataset.versioned event, in one transaction; and the appends of committed feedback.
 */
@Injectable()
export class VersionWriterService {
  private readonly logger = new Logger(VersionWriterService.name);

  constructor(
    private readonly datasets: DatasetsService,
    private readonly datasetRecords: DatasetsRepository,
    private readonly versions: DatasetVersionsRepository,
    private readonly staging: StagingRepository,
    private readonly rowWrites: RowWritesRepository,
    private readonly transactions: TransactionRunner,
    private readonly outbox: OutboxRelay,
    @Inject(DataConfig) private readonly config: DataConfigValues,
  ) {}

  /** Runs a version's write in one transaction, then relays its dataset.versioned event. */
  async flushed(work: (tx: Transaction) => Promise<VersionOutcome>): Promise<VersionOutcome> {
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

  /** Appends rows (committed feedback) to the latest version: the child writes only those rows. */
  async appendRows(dataset: string, change: AppendChange, correlationId?: string): Promise<VersionOutcome> {
    await this.datasets.requireDataset(dataset);
    return this.flushed(async (tx) => {
      await this.datasetRecords.ensureDatasetLocked(tx, { name: dataset, description: '' });
      const parent = await this.versions.latestVersion(dataset, tx);
      if (!parent) {
        throw new UnprocessableError(
          `dataset '${dataset}' has no version yet`,
          `Import it first: POST /datasets/${dataset}/import.`,
        );
      }
      const rows = await change.rows(tx);
      await this.staging.createStage(tx);
      await this.staging.stageKeyedRows(
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
      const parentStats = parent.stats ?? (await this.versions.computeStats(parent, tx));
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
          source: typeof change.source === 'function' ? change.source() : change.source,
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
  async finishVersion(tx: Transaction, content: NewContent, correlationId?: string): Promise<VersionOutcome> {
    const { parent, schema, append, inherit, dataset } = content;
    const testFraction = this.config.SPLIT_TEST_FRACTION;
    const seed = this.config.SPLIT_SEED;
    const parentStats =
      parent && inherit ? (parent.stats ?? (await this.versions.computeStats(parent, tx))) : null;
    let edges: number[] = [];
    if (schema.task === 'regression') {
      edges =
        inherit && parentStats?.edges
          ? parentStats.edges
          : await this.staging.quantileEdges(tx, binCount(content.stagedRows, testFraction));
    }
    let inherited: StrataCounts = {};
    let removedSum = 0n;
    let fresh: Record<string, number>;
    // Nothing inherited: every staged row is written, straight from the stage.
    const fromStage = !append && !inherit;
    if (append) {
      inherited = parentStats?.strata ?? {};
      fresh = await this.rowWrites.selectFresh(tx, {
        dataset,
        inherit: false,
        seed,
        task: schema.task,
        edges,
      });
    } else if (inherit) {
      await this.staging.keyStagedRows(tx, schema.task, schema.labels);
      const kept = await this.rowWrites.inheritedRows(tx, dataset, { task: schema.task, edges });
      inherited = kept.strata;
      removedSum = kept.removedSum;
      fresh = await this.rowWrites.selectFresh(tx, {
        dataset,
        inherit: true,
        seed,
        task: schema.task,
        edges,
      });
    } else {
      fresh = await this.staging.freshFromStage(tx, {
        task: schema.task,
        labels: schema.labels,
        seed,
        edges,
      });
    }
    const seq = await this.versions.nextSeq(tx, dataset);
    // No quota: every fresh row goes to train.
    const quotas = content.trainOnly
      ? {}
      : (content.declaredTest ?? testQuotas(inherited, fresh, testFraction));
    const split = fromStage
      ? await this.rowWrites.insertStaged(tx, {
          dataset,
          seq,
          quotas,
          counts: fresh,
          task: schema.task,
          labels: schema.labels,
          edges,
        })
      : await this.rowWrites.insertFresh(tx, { dataset, seq, quotas, task: schema.task, edges });
    const strata = mergeStrata(inherited, split.strata);
    const contentSum = inherit
      ? addSums(parent?.contentSum ?? null, split.addedSum, removedSum)
      : addSums(null, split.addedSum, 0n);
    const id = versionId(schema, contentSum);
    const existing = await this.versions.versionById(id, tx);
    // Identical content is one version: undo the rows just written (the whole transaction) and answer it.
    if (existing) throw new IdenticalContent(existing);
    const rowsRemoved = append ? 0 : await this.rowWrites.markRemoved(tx, dataset, seq, inherit);

    const trainRows = Object.values(strata).reduce((n, s) => n + s.train, 0);
    const testRows = Object.values(strata).reduce((n, s) => n + s.test, 0);
    const version = await this.versions.insertVersion(tx, {
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
        method: content.declaredTest
          ? 'declared-by-source'
          : schema.task === 'regression'
            ? 'quantile-stratified-hash-stable'
            : 'stratified-hash-stable',
      },
      source: content.source,
      contentSum,
      stats: { strata, ranges: content.ranges, ...(schema.task === 'regression' ? { edges } : {}) },
    });
    await this.datasetRecords.setDatasetSchema(tx, dataset, schema);
    await content.afterInsert?.(tx, version);
    await this.versions.announceVersion(
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
    await this.staging.dropStage(tx);
    this.logger.log(
      `dataset ${dataset} v${version.seq} ${version.id.slice(0, 12)} (${version.reason}, ${version.rowCount} rows, ${split.added} written, ${rowsRemoved} removed)`,
    );
    return { version, created: true, rowsWritten: split.added, rowsRemoved };
  }
}

function sumCounts(version: VersionRecord): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const split of [version.classCounts.train, version.classCounts.test]) {
    for (const [label, n] of Object.entries(split)) totals[label] = (totals[label] ?? 0) + n;
  }
  return totals;
}
