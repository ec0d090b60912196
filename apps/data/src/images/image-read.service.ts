import { Injectable } from '@nestjs/common';
import { PNG } from 'pngjs';
import {
  encodeImageBatch,
  ImagePageQuery,
  ImageSamplesResponse,
  InvalidInputError,
  NotFoundError,
  UnprocessableError,
} from '@sepal/contracts';
import { VersionRecord } from '../datasets/dataset-versions.repository';
import { DatasetVersionsService } from '../datasets/dataset-versions.service';
import { ImagesRepository } from './images.repository';

/** An image page stops at this many bytes of pixels whatever its limit (follow nextCursor). */
export const MAX_PAGE_PIXEL_BYTES = 32 * 1024 * 1024;

/** Reads of image versions: pages of pixels for the trainer, samples per class and PNGs for the console. */
@Injectable()
export class ImageReadService {
  constructor(
    private readonly datasetVersions: DatasetVersionsService,
    private readonly images: ImagesRepository,
  ) {}

  private async imageVersion(name: string, ref: string) {
    const version: VersionRecord = await this.datasetVersions.resolveVersion(name, ref);
    const spec = version.schema.image;
    if (!spec) {
      throw new UnprocessableError(
        `dataset '${name}' holds a table, not images`,
        `Read its rows: GET /datasets/${name}/versions/${ref}/rows.`,
      );
    }
    return { version, spec };
  }

  /** One page of a version's split as the binary image batch (libs/contracts encodeImageBatch). */
  async page(
    name: string,
    ref: string,
    query: ImagePageQuery,
  ): Promise<{ body: Uint8Array; version: string }> {
    const { version, spec } = await this.imageVersion(name, ref);
    const size = spec.height * spec.width * spec.channels;
    const limit = Math.max(1, Math.min(query.limit, Math.floor(MAX_PAGE_PIXEL_BYTES / size)));
    const page = await this.images.page(version, query.split, query.cursor, limit);
    const pixels = new Uint8Array(page.pixels.length * size);
    page.pixels.forEach((p, i) => {
      if (p.length !== size) throw new Error(`stored image ${i} has ${p.length} bytes, not ${size}`);
      pixels.set(p, i * size);
    });
    const body = encodeImageBatch({
      header: {
        format: 1,
        dataset: name,
        version: version.id,
        split: query.split ?? 'all',
        count: page.labels.length,
        height: spec.height,
        width: spec.width,
        channels: spec.channels,
        labels: version.schema.labels,
        nextCursor: page.nextCursor,
        hashes: page.hashes,
      },
      pixels,
      labels: Uint16Array.from(page.labels),
    });
    return { body, version: version.id };
  }

  async samples(
    name: string,
    ref: string,
    perClass: number,
    split?: 'train' | 'test',
  ): Promise<ImageSamplesResponse> {
    const { version, spec } = await this.imageVersion(name, ref);
    const rows = await this.images.samples(version, perClass, split);
    return {
      dataset: name,
      version: version.id,
      image: spec,
      classes: version.schema.labels.map((label, index) => ({
        index,
        name: label,
        count: (version.classCounts.train[label] ?? 0) + (version.classCounts.test[label] ?? 0),
        images: rows.filter((r) => r.label === index).map((r) => ({ hash: r.hash, split: r.split })),
      })),
    };
  }

  /** One stored image as a PNG (RGBA; small: the model's input size). */
  async png(name: string, hash: string): Promise<Buffer> {
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new InvalidInputError(
        `'${hash.slice(0, 80)}' is not an image hash`,
        'Use the 64 hex characters of a row’s image feature.',
      );
    }
    const image = await this.images.image(name, hash);
    if (!image) throw new NotFoundError(`dataset '${name}' has no image ${hash}`);
    const png = new PNG({ width: image.width, height: image.height });
    const n = image.width * image.height;
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) {
        png.data[p * 4 + c] = image.pixels[p * image.channels + (image.channels === 1 ? 0 : c)];
      }
      png.data[p * 4 + 3] = 255;
    }
    return PNG.sync.write(png);
  }
}
