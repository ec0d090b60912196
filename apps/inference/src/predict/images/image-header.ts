import { ImageInputError } from './image-errors';

/** What an image's header says, read before any pixel is decoded. */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** Colour channels: 1 (grey, with or without alpha) or 3 (colour, palette included); alpha is not counted. */
  channels: 1 | 3;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** PNG colour types: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
const PNG_CHANNELS: Record<number, 1 | 3> = { 0: 1, 2: 3, 3: 3, 4: 1, 6: 3 };
/** JPEG frames jpeg-js decodes: baseline, extended sequential, progressive (Huffman coded). */
const JPEG_DECODABLE = new Set([0xc0, 0xc1, 0xc2]);

/**
 * Reads the format, size and channels from the first bytes of a PNG or JPEG, so that an image of the wrong size, or
 * one whose header promises billions of pixels (a decompression bomb), is refused before it is decoded. `what` names
 * the image in errors (e.g. `images[2]`). Not PNG nor JPEG: 415; a truncated or malformed header: 422.
 */
export function readImageHeader(bytes: Uint8Array, what: string): ImageHeader {
  if (bytes.length === 0) throw ImageInputError.undecodable(what, 'it is empty');
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return pngHeader(bytes, what);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegHeader(bytes, what);
  throw ImageInputError.unsupported(what, 'is neither a PNG nor a JPEG image (by its first bytes)');
}

function pngHeader(bytes: Uint8Array, what: string): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ihdr = String.fromCharCode(...bytes.subarray(12, 16));
  if (bytes.length < 33 || ihdr !== 'IHDR') {
    throw ImageInputError.undecodable(what, 'a PNG without its IHDR header (truncated or corrupt)');
  }
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24];
  const colourType = bytes[25];
  const channels = PNG_CHANNELS[colourType];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(bitDepth) || width === 0 || height === 0) {
    throw ImageInputError.undecodable(
      what,
      `a PNG with an invalid header (${width}x${height}, bit depth ${bitDepth}, colour type ${colourType})`,
    );
  }
  return { format: 'png', width, height, channels };
}

function jpegHeader(bytes: Uint8Array, what: string): ImageHeader {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) {
      throw ImageInputError.undecodable(what, `a JPEG with a malformed segment at byte ${at}`);
    }
    const marker = bytes[at + 1];
    // Fill bytes, and markers without a length (TEM, RSTn).
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break;
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2) throw ImageInputError.undecodable(what, `a JPEG with a malformed segment at byte ${at}`);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 10 > bytes.length) break;
      if (!JPEG_DECODABLE.has(marker)) {
        throw ImageInputError.unsupported(
          what,
          'is a lossless, hierarchical or arithmetic-coded JPEG; send a baseline or progressive JPEG, or a PNG',
        );
      }
      const height = (bytes[at + 5] << 8) | bytes[at + 6];
      const width = (bytes[at + 7] << 8) | bytes[at + 8];
      const components = bytes[at + 9];
      if (components !== 1 && components !== 3) {
        throw ImageInputError.unsupported(
          what,
          `is a JPEG with ${components} colour components (CMYK?); send a grey or RGB image`,
        );
      }
      if (width === 0 || height === 0) {
        throw ImageInputError.undecodable(what, `a JPEG of ${width}x${height} pixels`);
      }
      return { format: 'jpeg', width, height, channels: components === 1 ? 1 : 3 };
    }
    at += 2 + length;
  }
  throw ImageInputError.undecodable(what, 'a JPEG without a frame header (truncated or corrupt)');
}
