import { createHash } from 'node:crypto';
import type { ImageSpec } from '@sepal/contracts';
import type { IdxArray } from '@sepal/ml';
import { decodeImage, ImageTooLargeError } from './image-decode';
import { toModelInput } from './image-resize';
import { FolderImage, LayoutError, proportionalCounts } from './image-sources';

/** A limit of the import (files, bytes per file, pixels) was passed: 413 naming the setting. */
export class ImageLimitError extends Error {
  readonly statusCode = 413;
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/** Images ready to read: files of class folders, or IDX arrays (already parsed). */
export type LoadedImages =
  | { kind: 'folders'; images: FolderImage[] }
  | {
      kind: 'idx';
      pairs: { name: string; split: 'train' | 'test' | null; images: IdxArray; labels: IdxArray }[];
      /** Class names by label value; absent: the value itself ("0", "1", …). */
      classNames?: string[];
    };

export interface ImageRequest {
  spec: Omit<ImageSpec, 'height' | 'width'> & { height?: number; width?: number };
  labels: string[];
  limit?: number;
  maxFiles: number;
  maxFileBytes: number;
  maxPixels: number;
}

/** One image read: its model input bytes (H×W×C), or the problem that names its file. */
export type ReadOutcome =
  | { file: string; className: string; pixels: Uint8Array; split: 'train' | 'test' | null }
  | { file: string; problem: string };

export interface ImagePlan {
  spec: ImageSpec;
  /** The label map: the dataset's labels in their order, then the new classes sorted. */
  labels: string[];
  count: number;
  /** Every image's split is declared by its file (IDX pairs named train… and t10k…/test…). */
  declared: boolean;
  read(): Generator<ReadOutcome>;
}

const DEFAULT_SIDE = 28;
const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The label map: existing labels kept in order (their indexes are stored), new classes appended, sorted (folder
 * names) or in the order given (a built-in dataset's class names, IDX label values).
 */
export function mergeLabels(existing: readonly string[], classes: Iterable<string>, sort = true): string[] {
  const fresh = [...new Set(classes)].filter((c) => !existing.includes(c));
  return [...existing, ...(sort ? fresh.sort(naturalOrder) : fresh)];
}

/** The content hash of an image as model input: its shape and its pixels. */
export function imageHash(
  spec: Pick<ImageSpec, 'height' | 'width' | 'channels'>,
  pixels: Uint8Array,
): string {
  return createHash('sha256')
    .update(`sepal-image\n${spec.height}x${spec.width}x${spec.channels}\n`)
    .update(pixels)
    .digest('hex');
}

/** Checks the count and sizes (413 naming the limit), settles the shape and label map, and reads images lazily. */
export function planImages(loaded: LoadedImages, request: ImageRequest): ImagePlan {
  return loaded.kind === 'folders' ? planFolders(loaded.images, request) : planIdx(loaded, request);
}

function checkCount(count: number, request: ImageRequest): void {
  if (count > request.maxFiles) {
    throw new ImageLimitError(
      `the import holds ${count} images, more than DATA_MAX_IMAGE_FILES=${request.maxFiles}; nothing was written`,
      'DATA_MAX_IMAGE_FILES',
    );
  }
}

function planFolders(images: FolderImage[], request: ImageRequest): ImagePlan {
  const taken = request.limit !== undefined ? images.slice(0, request.limit) : images;
  checkCount(taken.length, request);
  const big = taken.find((image) => image.size > request.maxFileBytes);
  if (big) {
    throw new ImageLimitError(
      `${big.file} is ${big.size} bytes, more than DATA_MAX_IMAGE_FILE_BYTES=${request.maxFileBytes}; nothing was written`,
      'DATA_MAX_IMAGE_FILE_BYTES',
    );
  }
  const spec: ImageSpec = {
    ...request.spec,
    height: request.spec.height ?? DEFAULT_SIDE,
    width: request.spec.width ?? DEFAULT_SIDE,
  };
  return {
    spec,
    labels: mergeLabels(
      request.labels,
      taken.map((i) => i.className),
    ),
    count: taken.length,
    declared: false,
    *read() {
      for (const image of taken) {
        try {
          const pixels = toModelInput(decodeImage(image.read(), request.maxPixels), spec);
          yield { file: image.file, className: image.className, pixels, split: null };
        } catch (error) {
          if (error instanceof ImageTooLargeError) {
            throw new ImageLimitError(
              `${image.file} ${error.message}; nothing was written`,
              'DATA_MAX_IMAGE_PIXELS',
            );
          }
          yield { file: image.file, problem: (error as Error).message };
        }
      }
    },
  };
}

function planIdx(loaded: Extract<LoadedImages, { kind: 'idx' }>, request: ImageRequest): ImagePlan {
  const shapes = loaded.pairs.map((pair) => {
    const { dims } = pair.images;
    if (dims.length < 3 || dims.length > 4 || (dims.length === 4 && ![1, 3].includes(dims[3]))) {
      throw new LayoutError(
        `${pair.name}: images must be [N, height, width] or [N, height, width, 1|3], not [${dims.join(', ')}]`,
      );
    }
    if (pair.labels.dims.length !== 1 || pair.labels.dims[0] !== dims[0]) {
      throw new LayoutError(
        `${pair.name}: ${dims[0]} images but labels of shape [${pair.labels.dims.join(', ')}] (one label per image)`,
      );
    }
    return { count: dims[0], height: dims[1], width: dims[2], channels: dims[3] ?? 1 };
  });
  const counts = proportionalCounts(
    shapes.map((s) => s.count),
    request.limit,
  );
  const count = counts.reduce((n, c) => n + c, 0);
  checkCount(count, request);
  const first = shapes[0];
  const spec: ImageSpec = {
    ...request.spec,
    height: request.spec.height ?? first.height,
    width: request.spec.width ?? first.width,
  };
  const name = (value: number) => loaded.classNames?.[value] ?? String(value);
  const values = new Set<number>();
  loaded.pairs.forEach((pair, p) => pair.labels.values.subarray(0, counts[p]).forEach((v) => values.add(v)));
  const unknown = [...values].find((v) => loaded.classNames && v >= loaded.classNames.length);
  if (unknown !== undefined)
    throw new LayoutError(`label value ${unknown} has no class name (${loaded.classNames!.length} classes)`);
  const classes = loaded.classNames ?? [...values].sort((a, b) => a - b).map(String);
  return {
    spec,
    labels: mergeLabels(request.labels, classes, false),
    count,
    declared: loaded.pairs.every((pair) => pair.split !== null),
    *read() {
      for (const [p, pair] of loaded.pairs.entries()) {
        const shape = shapes[p];
        const size = shape.height * shape.width * shape.channels;
        const native =
          shape.height === spec.height && shape.width === spec.width && shape.channels === spec.channels;
        for (let i = 0; i < counts[p]; i++) {
          const file = `${pair.name}#${i}`;
          const raw = pair.images.values.subarray(i * size, (i + 1) * size);
          try {
            const pixels = native ? raw.slice() : toModelInput(asRgba(raw, shape), spec);
            yield { file, className: name(pair.labels.values[i]), pixels, split: pair.split };
          } catch (error) {
            yield { file, problem: (error as Error).message };
          }
        }
      }
    },
  };
}

function asRgba(raw: Uint8Array, shape: { height: number; width: number; channels: number }) {
  const n = shape.height * shape.width;
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = raw[p * shape.channels + (shape.channels === 1 ? 0 : c)];
    rgba[p * 4 + 3] = 255;
  }
  return { width: shape.width, height: shape.height, rgba };
}
