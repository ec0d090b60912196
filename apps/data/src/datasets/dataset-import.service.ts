import { Inject, Injectable } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  DatasetSchema,
  ImportDryRunResponse,
  ImportQuery,
  InvalidInputError,
  TooManyRequestsError,
} from '@sepal/contracts';
import { DataConfig, DataConfigValues } from '../data.config';
import { DATASET_CATALOG, findDefinition } from '../catalog/catalog';
import { findImageDefinition } from '../catalog/image-catalog';
import { DatasetDefinition } from '../catalog/dataset-definition';
import { DatasetVersionsRepository } from './dataset-versions.repository';
import { DatasetsRepository } from './datasets.repository';
import { DatasetsService, sameBase } from './datasets.service';
import { ImportOptions } from './domain/csv-import';
import { BodyTooLargeError } from './domain/csv-stream';
import { runImportWorker } from './import/import-job';
import { StagingRepository } from './staging.repository';
import { VersionOutcome, VersionWriterService } from './version-writer.service';

export interface ImportRequest {
  dataset: string;
  /** The CSV, streamed; absent for a built-in dataset's shipped file. */
  body?: AsyncIterable<Buffer | string>;
  /** The declared size of the body (Content-Length), refused at once when over the limit. */
  declaredBytes?: number;
  query: ImportQuery;
}

const STAGE_BATCH = 5000;
const MAX_PROBLEMS = 100;

/** CSV imports and dry runs: read off the event loop by the import worker, in a bounded number of slots. */
@Injectable()
export class DatasetImportService {
  /** Imports and dry runs reading now (each in a worker thread); at most DATA_MAX_CONCURRENT_IMPORTS. */
  private importsRunning = 0;

  constructor(
    private readonly datasets: DatasetsService,
    private readonly writer: VersionWriterService,
    private readonly datasetRecords: DatasetsRepository,
    private readonly versions: DatasetVersionsRepository,
    private readonly staging: StagingRepository,
    @Inject(DataConfig) private readonly config: DataConfigValues,
  ) {}

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
    if (!definition && findImageDefinition(request.dataset)) {
      throw new InvalidInputError(
        `'${request.dataset}' is an image dataset: it is imported by POST /datasets/${request.dataset}/images/import`,
        `CLI: sepal data import ${request.dataset} [--limit n].`,
      );
    }
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
    const name = this.datasets.checkName(request.dataset);
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
    return this.writer.flushed(async (tx) => {
      await this.datasetRecords.ensureDatasetLocked(tx, {
        name,
        description: definition?.description ?? `Imported from ${fileName}.`,
      });
      const parent = await this.versions.latestVersion(name, tx);
      const existing = request.query.newSchema ? undefined : parent?.schema;
      const options = this.importOptions(definition, request.query, existing);
      this.checkDeclaredBytes(request);
      await this.staging.createStage(tx);
      const { summary } = await runImportWorker(
        stream,
        { ...this.workerData(name, fileName, options), dryRun: false, copy: this.staging.canCopy(tx) },
        (batch) => this.staging.stageBatch(tx, batch),
      );
      const { rows, schema } = summary;
      return this.writer.finishVersion(
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

  /**
   * Runs an import (or a dry run) in one of DATA_MAX_CONCURRENT_IMPORTS slots: each holds a worker thread and a
   * transaction, so a client cannot start more at once; beyond, 429 naming the setting.
   */
  async inImportSlot<T>(work: () => Promise<T>): Promise<T> {
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
    const parent = await this.versions.latestVersion(request.dataset);
    const existing = request.query.newSchema ? undefined : parent?.schema;
    const options = this.importOptions(definition, request.query, existing);
    this.checkDeclaredBytes(request);
    const { summary } = await runImportWorker(stream, {
      ...this.workerData(request.dataset, request.query.fileName ?? 'upload.csv', options),
      dryRun: true,
    });
    return { dryRun: true, ...summary };
  }
}
