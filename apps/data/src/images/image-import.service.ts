import { Inject, Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DatasetSchema,
  ImageImportQuery,
  ImageSpec,
  InvalidInputError,
  NotFoundError,
  UnprocessableError,
} from '@sepal/contracts';
import { DataConfig, DataConfigValues } from '../data.config';
import { findImageDefinition, ImageDatasetDefinition } from '../catalog/image-catalog';
import { DatasetImportService } from '../datasets/dataset-import.service';
import { DatasetVersionsRepository } from '../datasets/dataset-versions.repository';
import { DatasetsRepository } from '../datasets/datasets.repository';
import { DatasetsService, sameBase } from '../datasets/datasets.service';
import { StagingRepository } from '../datasets/staging.repository';
import { VersionOutcome, VersionWriterService } from '../datasets/version-writer.service';
import { ImageLimitError } from './domain/image-reader';
import { ImagesRepository } from './images.repository';
import { runImageImportWorker } from './import/image-import-job';
import type { ImageImportSummary, ImageSource } from './import/image-import-protocol';

export interface ImageImportRequest {
  dataset: string;
  /** The zip, streamed; absent for a built-in image dataset (fashion-mnist). */
  body?: AsyncIterable<Buffer | string>;
  /** The declared size of the body (Content-Length), refused at once when over the limit. */
  declaredBytes?: number;
  query: ImageImportQuery;
}

export interface ImageImportOutcome extends VersionOutcome {
  summary: ImageImportSummary;
}

const STAGE_BATCH = 500;
const MAX_PROBLEMS = 20;

/** The schema of an image dataset: one feature, the image's hash; the class is the target. */
export function imageSchema(spec: ImageSpec, labels: string[]): DatasetSchema {
  return {
    features: ['image'],
    target: 'label',
    task: 'classification',
    labels,
    columns: [{ name: 'image', type: 'categorical' }],
    image: spec,
  };
}

const sameSpec = (a: ImageSpec, b: ImageSpec) =>
  a.height === b.height && a.width === b.width && a.channels === b.channels && a.resize === b.resize;

/**
 * Image imports: a zip of class folders or IDX pairs, or a built-in IDX dataset, read in a worker thread and
 * written as one version in one transaction (the rows by the tables' path, the pixels beside them by hash).
 */
@Injectable()
export class ImageImportService {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly imports: DatasetImportService,
    private readonly writer: VersionWriterService,
    private readonly datasetRecords: DatasetsRepository,
    private readonly versions: DatasetVersionsRepository,
    private readonly staging: StagingRepository,
    private readonly images: ImagesRepository,
    @Inject(DataConfig) private readonly config: DataConfigValues,
  ) {}

  async importImages(request: ImageImportRequest, correlationId?: string): Promise<ImageImportOutcome> {
    const name = this.datasets.checkName(request.dataset);
    const definition = findImageDefinition(name);
    this.checkQuery(request.query, Boolean(request.body), definition);
    const max = this.config.DATA_MAX_IMAGE_IMPORT_BYTES;
    if (request.declaredBytes !== undefined && request.declaredBytes > max) throw tooLarge(max);
    // A slot is taken first (shared with CSV imports): a refused import reads nothing and holds no connection.
    return this.imports.inImportSlot(async () => {
      const source = request.body
        ? ({
            kind: 'zip',
            zip: await readWhole(request.body, max),
            fileName: request.query.fileName ?? 'upload.zip',
          } as const)
        : this.builtInSource(definition!);
      return this.importInTransaction(name, request.query, source, definition, correlationId);
    });
  }

  private checkQuery(query: ImageImportQuery, hasBody: boolean, definition?: ImageDatasetDefinition): void {
    const side = this.config.DATA_MAX_IMAGE_SIDE;
    for (const key of ['height', 'width'] as const) {
      if ((query[key] ?? 0) > side) {
        throw new InvalidInputError(
          `${key}=${query[key]} is larger than DATA_MAX_IMAGE_SIDE=${side}`,
          `Declare a shape of at most ${side}x${side}, or raise DATA_MAX_IMAGE_SIDE.`,
        );
      }
    }
    if (!hasBody && !definition) {
      throw new InvalidInputError(
        'there are no images to import: send a zip as the body (Content-Type: application/zip)',
        'Zip a folder of class folders (cat/1.png, dog/2.jpg) or IDX pairs; the CLI does it: sepal data import <name> --images <folder-or-zip>. Built-in: fashion-mnist.',
      );
    }
    if (hasBody && query.limit !== undefined) {
      throw new InvalidInputError(
        'limit applies to a built-in image dataset only',
        'Zip fewer images instead.',
      );
    }
  }

  private builtInSource(definition: ImageDatasetDefinition): ImageSource {
    const directory = this.config[definition.directorySetting];
    const pairs = definition.pairs.map((pair) => ({
      prefix: pair.prefix,
      split: pair.split,
      images: join(directory, pair.images),
      labels: join(directory, pair.labels),
    }));
    const missing = pairs.flatMap((p) => [p.images, p.labels]).find((file) => !existsSync(file));
    if (missing) {
      throw new NotFoundError(
        `${definition.name}: ${missing} is missing on the data service's machine`,
        `Install it (${definition.install}) or set ${definition.directorySetting} to the directory that holds the files.`,
      );
    }
    return { kind: 'idx-files', pairs, classNames: definition.classes };
  }

  /** The shape to read with: the query's, else the latest version's, else (IDX) the files' own or 28×28 grey. */
  private declaredSpec(query: ImageImportQuery, parent: ImageSpec | undefined, builtIn: boolean) {
    return {
      height: query.height ?? parent?.height,
      width: query.width ?? parent?.width,
      channels: query.channels ?? parent?.channels ?? 1,
      resize: query.resize ?? parent?.resize ?? (builtIn ? 'exact' : 'stretch'),
    } as const;
  }

  private importInTransaction(
    name: string,
    query: ImageImportQuery,
    source: ImageSource,
    definition: ImageDatasetDefinition | undefined,
    correlationId?: string,
  ): Promise<ImageImportOutcome> {
    let summary: ImageImportSummary | undefined;
    const fileName = source.kind === 'zip' ? source.fileName : definition!.name;
    return this.writer
      .flushed(async (tx) => {
        await this.datasetRecords.ensureDatasetLocked(tx, {
          name,
          description: definition?.description ?? `Images imported from ${fileName}.`,
        });
        const parent = await this.versions.latestVersion(name, tx);
        const kept = query.newSchema ? undefined : parent?.schema;
        if (kept && !kept.image) {
          throw new UnprocessableError(
            `dataset '${name}' holds a table, not images`,
            'Import the images under another name, or pass newSchema=true to replace its schema.',
          );
        }
        const spec = this.declaredSpec(query, kept?.image, Boolean(definition));
        if (kept?.image) {
          this.checkKeptSpec(kept.image, {
            ...spec,
            height: spec.height ?? kept.image.height,
            width: spec.width ?? kept.image.width,
          });
        }
        await this.staging.createStage(tx);
        summary = await runImageImportWorker(
          {
            dataset: name,
            source,
            spec,
            labels: kept?.labels ?? [],
            limit: query.limit,
            seed: String(this.config.SPLIT_SEED),
            copy: this.staging.canCopy(tx),
            batchRows: STAGE_BATCH,
            limits: {
              maxFiles: this.config.DATA_MAX_IMAGE_FILES,
              maxFileBytes: this.config.DATA_MAX_IMAGE_FILE_BYTES,
              maxPixels: this.config.DATA_MAX_IMAGE_PIXELS,
            },
            maxProblems: MAX_PROBLEMS,
          },
          async (batch, blobs) => {
            await this.images.insertBlobs(tx, name, blobs);
            await this.staging.stageBatch(tx, batch);
          },
        );
        if (summary.rows === 0) {
          throw new UnprocessableError(`${fileName} holds no image; nothing was written`);
        }
        const schema = imageSchema(summary.spec, summary.labels);
        const declared = summary.declaredTest ?? undefined;
        return this.writer.finishVersion(
          tx,
          {
            stagedRows: summary.rows,
            dataset: name,
            parent,
            schema,
            append: false,
            inherit:
              parent !== null && !declared && sameBase(parent.schema, schema) && Boolean(parent.schema.image),
            reason: 'import',
            source: {
              file: fileName,
              kind: 'images',
              rows: summary.rows,
              bytes: summary.bytes,
              ...(query.limit ? { limit: query.limit } : {}),
            },
            cleaningRules: [],
            ranges: [null],
            declaredTest: declared,
          },
          correlationId,
        );
      })
      .then((outcome) => ({ ...outcome, summary: summary! }));
  }

  /** A later import keeps the stored shape unless newSchema=true: 422 naming both. */
  private checkKeptSpec(kept: ImageSpec, spec: ImageSpec): void {
    if (!sameSpec(kept, spec)) {
      const show = (s: ImageSpec) => `${s.height}x${s.width}x${s.channels} ${s.resize}`;
      throw new UnprocessableError(
        `the dataset's images are ${show(kept)}, this import asks for ${show(spec)}`,
        'Leave out height, width, channels and resize to keep the stored shape, or pass newSchema=true to change it.',
      );
    }
  }
}

function tooLarge(max: number): ImageLimitError {
  return new ImageLimitError(
    `the zip is larger than the limit of ${max} bytes (DATA_MAX_IMAGE_IMPORT_BYTES); nothing was written. Split it or raise DATA_MAX_IMAGE_IMPORT_BYTES.`,
    'DATA_MAX_IMAGE_IMPORT_BYTES',
  );
}

/** The whole body (a zip is read from its end), at most `max` bytes. */
async function readWhole(body: AsyncIterable<Buffer | string>, max: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const piece of body) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    total += chunk.length;
    if (total > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  // A buffer of its own (not the pool's): it is moved to the worker thread.
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
