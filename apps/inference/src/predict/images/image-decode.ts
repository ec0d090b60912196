import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import type { OnnxImageInput } from '@sepal/contracts';
import { ImageInputError } from './image-errors';
import { readImageHeader } from './image-header';

/** The per-image limits (IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS). */
export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

const describe = (height: number, width: number, channels: number) =>
  `${height}x${width} ${channels === 1 ? 'grey (1 channel)' : 'colour (3 channels)'}`;

/** The model's input as a sentence: "28x28 grey (1 channel)". */
export function describeImageInput(image: OnnxImageInput): string {
  return describe(image.height, image.width, image.channels);
}

/**
 * Decodes one PNG or JPEG into the model's input: `out` from `offset`, H x W x C pixel values 0..255 (NHWC).
 *
 * Checks, in order, each before any work it guards: the byte size (413, IMAGE_MAX_BYTES), the header's format (415)
 * and pixel count (413, IMAGE_MAX_PIXELS), then the size: an image whose height x width is not the model's is refused
 * (422 naming both), never resized, since a resize the training data did not go through would change what the model
 * sees. Channels are converted where no information is invented: a colour image for a grey model becomes grey (ITU-R
 * BT.601 luma, as PIL's convert('L')), a grey image for a colour model is repeated in the three channels; alpha is
 * dropped. A corrupt image is a 422.
 */
export function decodeImageInto(
  bytes: Uint8Array,
  what: string,
  image: OnnxImageInput,
  limits: ImageLimits,
  out: Float32Array,
  offset: number,
): void {
  if (bytes.length > limits.maxBytes) {
    throw ImageInputError.tooLarge(
      what,
      `${bytes.length} bytes is over the limit of ${limits.maxBytes} bytes per image (IMAGE_MAX_BYTES)`,
    );
  }
  const header = readImageHeader(bytes, what);
  const pixels = header.width * header.height;
  if (pixels > limits.maxPixels) {
    throw ImageInputError.tooLarge(
      what,
      `${header.width}x${header.height} is ${pixels} pixels, over the limit of ${limits.maxPixels} (IMAGE_MAX_PIXELS)`,
    );
  }
  if (header.height !== image.height || header.width !== image.width) {
    throw ImageInputError.unprocessable(
      what,
      `the model takes ${describeImageInput(image)} images [${image.height}, ${image.width}, ${image.channels}], ` +
        `this ${header.format.toUpperCase()} is ${describe(header.height, header.width, header.channels)} ` +
        `[${header.height}, ${header.width}, ${header.channels}]; resize it to ${image.width}x${image.height} ` +
        '(height x width) the way the training images were prepared',
    );
  }
  const rgba = header.format === 'png' ? decodePng(bytes, what) : decodeJpeg(bytes, what, limits);
  if (rgba.length < pixels * 4)
    throw ImageInputError.undecodable(what, 'it decoded to fewer pixels than its header says');
  if (image.channels === 1) {
    for (let p = 0, at = offset; p < pixels; p++, at++) {
      const r = rgba[p * 4];
      const g = rgba[p * 4 + 1];
      const b = rgba[p * 4 + 2];
      // Grey stays exactly itself (r = g = b); colour is PIL's integer luma.
      out[at] = r === g && g === b ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    }
    return;
  }
  for (let p = 0, at = offset; p < pixels; p++, at += 3) {
    out[at] = rgba[p * 4];
    out[at + 1] = rgba[p * 4 + 1];
    out[at + 2] = rgba[p * 4 + 2];
  }
}

/** RGBA, 8 bits a value (pngjs expands grey, palettes and 16-bit depths; it bounds the inflated size by the header). */
function decodePng(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).data;
  } catch (error) {
    throw ImageInputError.undecodable(what, `a corrupt PNG (${(error as Error).message})`);
  }
}

function decodeJpeg(bytes: Uint8Array, what: string, limits: ImageLimits): Uint8Array {
  try {
    return jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: Math.max(limits.maxPixels / 1e6, 0.001),
      maxMemoryUsageInMB: 256,
    }).data;
  } catch (error) {
    throw ImageInputError.undecodable(what, `a corrupt JPEG (${(error as Error).message})`);
  }
}
