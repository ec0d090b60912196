import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { OnnxImageInput } from '@sepal/contracts';
import { describeValue, PredictInputError, type ParsedRows } from '../parse-input';
import { decodeImageInto, describeImageInput, type ImageLimits } from './image-decode';
import { ImageInputError } from './image-errors';

/** One uploaded image, named for error messages (`images[2]`, `file "shirt.png"`). */
export interface ImageSource {
  what: string;
  bytes: Uint8Array;
}

/** The limits of one request (IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS, IMAGE_MAX_PER_REQUEST). */
export interface ImageRequestLimits extends ImageLimits {
  maxImages: number;
}

/** Decoding yields to the event loop after this much work, so a batch never holds it for long. */
const DECODE_SLICE_MS = 3;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,/i;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The answer to give a body that is not an image request, naming the forms an image model takes. */
export function imageFormsHint(image: OnnxImageInput): string {
  return (
    `The model takes ${describeImageInput(image)} images: send {"image": "<base64 PNG or JPEG>"} or ` +
    '{"images": ["<base64>", ...]} as JSON, the files as multipart/form-data, or POST /v2/models/{name}/infer with ' +
    `a [N, ${image.height}, ${image.width}, ${image.channels}] UINT8 or FP32 tensor.`
  );
}

/**
 * The images of a JSON body for an image model: `{"image": "<base64>"}` (one, `single`) or `{"images": [...]}`
 * (a batch), base64 with or without a `data:image/...;base64,` prefix. Errors name the field.
 */
export function imageSourcesFromJson(
  body: unknown,
  image: OnnxImageInput,
  limits: ImageRequestLimits,
): { sources: ImageSource[]; single: boolean } {
  const hint = imageFormsHint(image);
  if (!isObject(body))
    throw new PredictInputError('', `expected a JSON object, got ${describeValue(body)}`, hint);
  const keys = Object.keys(body);
  const unknown = keys.find((key) => key !== 'image' && key !== 'images');
  if (unknown !== undefined || keys.length !== 1) {
    throw new PredictInputError(
      unknown ?? '',
      unknown !== undefined ? 'unknown field for an image model' : 'send exactly one of "image" or "images"',
      hint,
    );
  }
  if (keys[0] === 'image') return { sources: [base64Source(body.image, 'image', limits)], single: true };
  const images = body.images;
  if (!Array.isArray(images) || images.length === 0) {
    throw new PredictInputError('images', 'must be a non-empty array of base64 strings', hint);
  }
  if (images.length > limits.maxImages) {
    throw ImageInputError.tooLarge(
      'images',
      `${images.length} images is over the limit of ${limits.maxImages} per request (IMAGE_MAX_PER_REQUEST)`,
    );
  }
  return { sources: images.map((item, i) => base64Source(item, `images[${i}]`, limits)), single: false };
}

function base64Source(value: unknown, what: string, limits: ImageLimits): ImageSource {
  if (typeof value !== 'string') {
    throw new PredictInputError(what, `must be a base64 string, got ${describeValue(value)}`);
  }
  const text = value.replace(DATA_URL, '');
  // Checked on the text before decoding: 4 characters for 3 bytes.
  if (Math.floor((text.length * 3) / 4) - 2 > limits.maxBytes) {
    throw ImageInputError.tooLarge(
      what,
      `about ${Math.floor((text.length * 3) / 4)} bytes is over the limit of ${limits.maxBytes} bytes per image (IMAGE_MAX_BYTES)`,
    );
  }
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw ImageInputError.unprocessable(
      what,
      'is not valid base64 (standard alphabet, padded to a multiple of 4 characters)',
    );
  }
  return { what, bytes: Buffer.from(text, 'base64') };
}

/**
 * Decodes the images into the model's input rows (NHWC pixel values), yielding to the event loop every few
 * milliseconds of work so that a batch of images never holds it for long.
 */
export async function decodeImages(
  sources: readonly ImageSource[],
  image: OnnxImageInput,
  limits: ImageRequestLimits,
): Promise<ParsedRows> {
  if (sources.length > limits.maxImages) {
    throw ImageInputError.tooLarge(
      'images',
      `${sources.length} images is over the limit of ${limits.maxImages} per request (IMAGE_MAX_PER_REQUEST)`,
    );
  }
  const size = image.height * image.width * image.channels;
  const data = new Float32Array(sources.length * size);
  let sliceStart = performance.now();
  for (let i = 0; i < sources.length; i++) {
    decodeImageInto(sources[i].bytes, sources[i].what, image, limits, data, i * size);
    if (i + 1 < sources.length && performance.now() - sliceStart > DECODE_SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return { rows: sources.length, data };
}
