import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';

/** A decoded picture: 8-bit RGBA, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** A file that is not a readable PNG or JPEG: a per-file problem of an import. */
export class ImageFileError extends Error {}

/** A picture with more pixels than DATA_MAX_IMAGE_PIXELS: refused before it is decoded. */
export class ImageTooLargeError extends Error {
  constructor(
    detail: string,
    readonly limit: number,
  ) {
    super(`${detail}, more than DATA_MAX_IMAGE_PIXELS=${limit}`);
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffImageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Decodes a PNG (pngjs) or JPEG (jpeg-js) to 8-bit RGBA. The size is checked against `maxPixels` before the pixels
 * are decoded (PNG: its IHDR; JPEG: the decoder's own resolution limit). Throws ImageFileError saying what is wrong.
 */
export function decodeImage(bytes: Uint8Array, maxPixels: number): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png') {
    if (bytes.length < 24) throw new ImageFileError('is not a PNG (cut short before its header)');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = view.getUint32(16, false);
    const height = view.getUint32(20, false);
    if (width * height > maxPixels) throw new ImageTooLargeError(`is ${width}x${height} pixels`, maxPixels);
    try {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
    } catch (error) {
      throw new ImageFileError(`cannot be decoded as PNG (${(error as Error).message})`);
    }
  }
  if (format === 'jpeg') {
    try {
      const jpeg = decodeJpeg(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: maxPixels / 1_000_000,
        maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 8) / (1024 * 1024))),
      });
      return { width: jpeg.width, height: jpeg.height, rgba: jpeg.data };
    } catch (error) {
      const message = (error as Error).message;
      if (/maxResolutionInMP/.test(message)) {
        throw new ImageTooLargeError('has more pixels', maxPixels);
      }
      throw new ImageFileError(`cannot be decoded as JPEG (${message})`);
    }
  }
  throw new ImageFileError('is neither a PNG nor a JPEG (judged by its first bytes)');
}
