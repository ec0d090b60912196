import { z } from 'zod';
import { sha256Hex } from '../events/common';
import { importDatasetResponseSchema } from './data.dto';
import { imageSpecSchema, MAX_IMAGE_SIDE } from './image-spec';

export * from './image-spec';

/** Image datasets the data service imports from files on its own machine (POST …/images/import with no body). */
export const BUILT_IN_IMAGE_DATASETS = ['fashion-mnist'] as const;

const flag = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1' || v === '');
const side = z.coerce.number().int().min(1).max(MAX_IMAGE_SIDE);

/**
 * Query of POST /datasets/:name/images/import. The body is a zip (Content-Type application/zip) holding either
 * class-per-subfolder images (`<class>/<file>.png|.jpg`, one optional top folder) or IDX pairs
 * (`<prefix>-images-idx3-ubyte[.gz]` with `<prefix>-labels-idx1-ubyte[.gz]`); no body imports a built-in image
 * dataset (fashion-mnist). Shape options not given come from the dataset's latest version, then from the IDX
 * files, then default to 28×28 grey, stretched.
 */
export const imageImportQuerySchema = z
  .object({
    height: side.optional(),
    width: side.optional(),
    channels: z
      .enum(['1', '3'])
      .transform(Number)
      .pipe(z.union([z.literal(1), z.literal(3)]))
      .optional(),
    resize: imageSpecSchema.shape.resize.optional(),
    /** A built-in IDX dataset only: import at most this many images (each file pair in proportion), for a demo. */
    limit: z.coerce.number().int().min(1).max(10_000_000).optional(),
    /** Replace the stored shape, channels and label map instead of refusing an import that differs from them. */
    newSchema: flag.optional(),
    fileName: z.string().max(300).optional(),
  })
  .strict();
export type ImageImportQuery = z.infer<typeof imageImportQuerySchema>;

/** POST /datasets/:name/images/import: the version (201 new, 200 identical content) and what was read. */
export const imageImportResponseSchema = importDatasetResponseSchema.extend({
  images: z.object({
    /** Images decoded and staged (each one a row keyed by the content hash of its pixels and label). */
    read: z.number().int().nonnegative(),
    /** Files of the archive that are not in a class folder (a README at its top, hidden files): skipped. */
    ignored: z.array(z.string()).max(100),
  }),
});
export type ImageImportResponse = z.infer<typeof imageImportResponseSchema>;

/** GET /datasets/:name/versions/:ref/images: one page of a split's images as IMAGE_BATCH_CONTENT_TYPE. */
export const imagePageQuerySchema = z.object({
  split: z.enum(['train', 'test']).optional(),
  /** The `nextCursor` of the previous page (-1, the default, is the start). */
  cursor: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(-1),
  /** At most this many images (the server also stops a page at 32 MiB of pixels; follow nextCursor). */
  limit: z.coerce.number().int().min(1).max(50_000).default(5_000),
});
export type ImagePageQuery = z.infer<typeof imagePageQuerySchema>;

/** GET /datasets/:name/versions/:ref/samples: up to `perClass` images of each class, for a sample grid. */
export const imageSamplesQuerySchema = z.object({
  perClass: z.coerce.number().int().min(1).max(64).default(8),
  split: z.enum(['train', 'test']).optional(),
});

export const imageSamplesResponseSchema = z.object({
  dataset: z.string(),
  version: sha256Hex,
  image: imageSpecSchema,
  classes: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      name: z.string(),
      /** Rows of this class in the version (both splits). */
      count: z.number().int().nonnegative(),
      /** Image hashes: GET /datasets/:name/images/:hash answers each as a PNG. */
      images: z.array(z.object({ hash: sha256Hex, split: z.enum(['train', 'test']) })),
    }),
  ),
});
export type ImageSamplesResponse = z.infer<typeof imageSamplesResponseSchema>;

/** The media type of an image page (GET /datasets/:name/versions/:ref/images). */
export const IMAGE_BATCH_CONTENT_TYPE = 'application/vnd.sepal.image-batch';
const MAGIC = 'SEPALIMG';

/** What an image page's JSON header says. */
export const imageBatchHeaderSchema = z.object({
  format: z.literal(1),
  dataset: z.string(),
  version: sha256Hex,
  split: z.enum(['train', 'test', 'all']),
  count: z.number().int().nonnegative(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  /** The label map: `labels[i]` is the class name of label index i. */
  labels: z.array(z.string()),
  /** The cursor of the next page, or null on the last one. */
  nextCursor: z.number().int().nullable(),
  /** Each image's content hash, in page order (GET /datasets/:name/images/:hash answers it as a PNG). */
  hashes: z.array(z.string()).optional(),
});
export type ImageBatchHeader = z.infer<typeof imageBatchHeaderSchema>;

export interface ImageBatch {
  header: ImageBatchHeader;
  /** count × height × width × channels unsigned bytes, row-major NHWC (image, row, column, channel). */
  pixels: Uint8Array;
  /** count class indexes into header.labels. */
  labels: Uint16Array;
}

/**
 * The binary image page, compact and self-describing (all integers little-endian):
 *
 *     bytes 0-7    the ASCII magic "SEPALIMG"
 *     bytes 8-11   uint32 L, the length of the header
 *     next L       the header, UTF-8 JSON (imageBatchHeaderSchema)
 *     next N·H·W·C the pixels, uint8, NHWC, the images in row order
 *     next 2·N     the labels, uint16, class indexes into header.labels
 */
export function encodeImageBatch(batch: ImageBatch): Uint8Array {
  const { header, pixels, labels } = batch;
  const size = header.count * header.height * header.width * header.channels;
  if (pixels.length !== size || labels.length !== header.count) {
    throw new Error(`an image batch of ${header.count} images needs ${size} pixel bytes and as many labels`);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + json.length + size + 2 * header.count);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(pixels, 12 + json.length);
  const at = 12 + json.length + size;
  labels.forEach((label, i) => view.setUint16(at + 2 * i, label, true));
  return out;
}

/** Reads an image page (encodeImageBatch's format); throws naming what is wrong. */
export function decodeImageBatch(bytes: Uint8Array): ImageBatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`not a Sepal image batch (it must start with "${MAGIC}")`);
  }
  const length = view.getUint32(8, true);
  if (12 + length > bytes.length) throw new Error('the image batch header is cut short');
  const header = imageBatchHeaderSchema.parse(
    JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))),
  );
  const size = header.count * header.height * header.width * header.channels;
  const start = 12 + length;
  if (bytes.length !== start + size + 2 * header.count) {
    throw new Error(
      `the image batch holds ${bytes.length - start} bytes after its header, not ${size + 2 * header.count}`,
    );
  }
  const labels = new Uint16Array(header.count);
  for (let i = 0; i < header.count; i++) labels[i] = view.getUint16(start + size + 2 * i, true);
  return { header, pixels: bytes.slice(start, start + size), labels };
}
