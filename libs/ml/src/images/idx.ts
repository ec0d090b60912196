import { gunzipSync } from 'node:zlib';

/*
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian header
 * [0, 0, type, rank] then `rank` uint32 dimensions, then the values row-major. Only unsigned bytes (type 0x08), the
 * type of every MNIST image and label file, are read; the Debian files are gzipped.
 */

const UNSIGNED_BYTE = 0x08;
/** A file bigger than this (once gunzipped) is refused: the whole Fashion-MNIST training images file is 47 MB. */
export const MAX_IDX_BYTES = 512 * 1024 * 1024;
const MAX_RANK = 4;

export interface IdxArray {
  /** e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  /** A view on the file's bytes (not a copy). */
  values: Uint8Array;
}

/** Parses an IDX file, gunzipping it first when it starts with gzip's magic bytes; throws naming what is wrong. */
export function parseIdx(file: Uint8Array, name = 'IDX file'): IdxArray {
  const bytes = isGzip(file) ? gunzip(file, name) : file;
  if (bytes.length < 4) throw new Error(`${name}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [zero0, zero1, type, rank] = [0, 1, 2, 3].map((i) => view.getUint8(i)) as [
    number,
    number,
    number,
    number,
  ];
  if (zero0 !== 0 || zero1 !== 0) throw new Error(`${name}: not an IDX file (the first two bytes must be 0)`);
  if (type !== UNSIGNED_BYTE) {
    throw new Error(
      `${name}: element type 0x${type.toString(16)} is not supported, only unsigned bytes (0x08)`,
    );
  }
  if (rank < 1 || rank > MAX_RANK) throw new Error(`${name}: rank ${rank} is not between 1 and ${MAX_RANK}`);
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) throw new Error(`${name}: the header of ${rank} dimensions is cut short`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((product, dim) => product * dim, 1);
  if (bytes.length !== headerSize + size) {
    throw new Error(
      `${name}: dimensions [${dims.join(', ')}] need ${size} values, the file has ${bytes.length - headerSize}`,
    );
  }
  return { dims, values: bytes.subarray(headerSize) };
}

/** Builds an IDX file of unsigned bytes (tests, fixtures). */
export function encodeIdx({ dims, values }: IdxArray): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint8(2, UNSIGNED_BYTE);
  view.setUint8(3, dims.length);
  dims.forEach((dim, i) => view.setUint32(4 + 4 * i, dim, false));
  const file = new Uint8Array(header.length + values.length);
  file.set(header);
  file.set(values, header.length);
  return file;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES });
  } catch (error) {
    throw new Error(
      `${name}: cannot gunzip (${(error as Error).message}); at most ${MAX_IDX_BYTES} bytes are read`,
    );
  }
}
