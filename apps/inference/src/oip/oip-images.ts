import type { OnnxImageInput } from '@sepal/contracts';
import { ImageInputError } from '../predict/images/image-errors';
import { describeImageInput } from '../predict/images/image-decode';
import { describeValue, PredictInputError } from '../predict/parse-input';

/** The tensor types an image model takes over OIP: pixel values 0..255 as bytes or as floats. */
const IMAGE_DATATYPES = new Set(['UINT8', 'FP32']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The model's OIP input: `features` [-1, H, W, C] of its input type (UINT8 or FP32; both are accepted). */
export function imageInputTensor(image: OnnxImageInput): { name: string; datatype: string; shape: number[] } {
  return {
    name: 'features',
    datatype: image.inputType === 'uint8' ? 'UINT8' : 'FP32',
    shape: [-1, image.height, image.width, image.channels],
  };
}

/**
 * The images of a v2 infer request: one tensor `features` of shape [N, H, W, C] (NHWC, the model's size), datatype
 * UINT8 (whole values 0..255) or FP32 (values 0..255; whole values for a model whose input is uint8), data flat or
 * nested, row-major. A wrong shape or type is a 422 naming the expected and actual ones; more than
 * IMAGE_MAX_PER_REQUEST images a 413.
 */
export function parseImageTensor(
  inputs: unknown,
  image: OnnxImageInput,
  maxImages: number,
): { rows: number; data: Float32Array } {
  const expected = [image.height, image.width, image.channels];
  const shapeText = `[N, ${expected.join(', ')}]`;
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new PredictInputError('inputs', `must be an array with exactly one tensor named 'features'`);
  }
  const input: unknown = inputs[0];
  if (!isObject(input)) {
    throw new PredictInputError('inputs[0]', `expected a tensor object, got ${describeValue(input)}`);
  }
  if (input.name !== 'features') {
    throw new PredictInputError(
      'inputs[0].name',
      `unknown input ${JSON.stringify(input.name)}; the model takes 'features'`,
    );
  }
  if (typeof input.datatype !== 'string' || !IMAGE_DATATYPES.has(input.datatype)) {
    throw ImageInputError.unprocessable(
      'inputs[0].datatype',
      `the model takes images as UINT8 or FP32 pixel values 0..255, got ${describeValue(input.datatype)}`,
    );
  }
  const shape = input.shape;
  const valid =
    Array.isArray(shape) &&
    shape.length === 4 &&
    shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    shape.slice(1).every((d, i) => d === expected[i]);
  if (!valid) {
    throw ImageInputError.unprocessable(
      'inputs[0].shape',
      `the model takes ${describeImageInput(image)} images, a tensor ${shapeText} (NHWC), got ${JSON.stringify(shape)}`,
    );
  }
  const rows = shape[0] as number;
  if (rows === 0) throw new PredictInputError('inputs[0].shape', 'must have at least one image');
  if (rows > maxImages) {
    throw ImageInputError.tooLarge(
      'inputs[0].shape',
      `${rows} images is over the limit of ${maxImages} per request (IMAGE_MAX_PER_REQUEST)`,
    );
  }
  if (!Array.isArray(input.data)) throw new PredictInputError('inputs[0].data', 'must be an array');
  const size = rows * image.height * image.width * image.channels;
  const data = new Float32Array(size);
  const wholeOnly = input.datatype === 'UINT8' || image.inputType === 'uint8';
  const written = flattenPixels(input.data, data, 0, 'inputs[0].data', wholeOnly);
  if (written !== size) {
    throw ImageInputError.unprocessable(
      'inputs[0].data',
      `shape ${JSON.stringify(shape)} needs ${size} values, got ${written > size ? 'more' : written}`,
    );
  }
  return { rows, data };
}

/** Flattens nested pixel arrays into `out`, each value 0..255 (whole when `wholeOnly`); returns the count. */
function flattenPixels(
  value: unknown[],
  out: Float32Array,
  at: number,
  path: string,
  wholeOnly: boolean,
): number {
  let written = 0;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (Array.isArray(item)) {
      written += flattenPixels(item, out, at + written, `${path}[${i}]`, wholeOnly);
      if (at + written > out.length) return written;
      continue;
    }
    if (at + written >= out.length) return written + 1;
    if (typeof item !== 'number' || !(item >= 0 && item <= 255) || (wholeOnly && !Number.isInteger(item))) {
      throw ImageInputError.unprocessable(
        `${path}[${i}]`,
        `must be a pixel value ${wholeOnly ? '(a whole number) ' : ''}from 0 to 255, got ${describeValue(item)}`,
      );
    }
    out[at + written] = item;
    written++;
  }
  return written;
}
