import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { encodeOnnxMetadata } from '@sepal/contracts';
import {
  createRng,
  exportCnnClassifierToOnnx,
  FASHION_MNIST_CLASSES,
  fitImageDriftReference,
  randomCnnClassifierSpec,
} from '@sepal/ml';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { IRIS_RUN_ID } from './fixtures';

export const IMAGE = { height: 28, width: 28, channels: 1 } as const;
export const FASHION_LABELS = [...FASHION_MNIST_CLASSES];

/** `count` seeded grey 28x28 images (NHWC bytes): a bright blob on a dark background, placed at random. */
export function syntheticImages(count: number, seed: number, brightness = 1): Uint8Array {
  const rng = createRng(seed);
  const size = IMAGE.height * IMAGE.width;
  const pixels = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const cy = 6 + rng() * 16;
    const cx = 6 + rng() * 16;
    const radius = 3 + rng() * 6;
    for (let y = 0; y < IMAGE.height; y++) {
      for (let x = 0; x < IMAGE.width; x++) {
        const inside = Math.hypot(y - cy, x - cx) < radius;
        const value = (inside ? 160 + rng() * 95 : rng() * 40) * brightness;
        pixels[i * size + y * IMAGE.width + x] = Math.min(255, Math.round(value));
      }
    }
  }
  return pixels;
}

/** One image of `pixels` as a grey PNG. */
export function greyPng(
  pixels: Uint8Array,
  width: number = IMAGE.width,
  height: number = IMAGE.height,
): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data = Buffer.from(pixels);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0 });
}

/** One grey image as a JPEG (jpeg-js writes 3 components: the gateway turns it back to grey). */
export function greyJpeg(pixels: Uint8Array, quality = 95): Buffer {
  const rgba = Buffer.alloc(pixels.length * 4);
  pixels.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
  return jpeg.encode({ width: IMAGE.width, height: IMAGE.height, data: rgba }, quality).data;
}

/** The grey values the gateway sees of a JPEG: decoded, then PIL's luma. */
export function decodeJpegGrey(bytes: Uint8Array): Uint8Array {
  const { data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  const out = new Uint8Array(data.length / 4);
  for (let p = 0; p < out.length; p++) {
    const [r, g, b] = [data[p * 4], data[p * 4 + 1], data[p * 4 + 2]];
    out[p] = r === g && g === b ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** Probabilities of `pixels` (NHWC bytes) straight from onnxruntime: the reference answers. */
export async function ortProbabilities(bytes: Uint8Array, pixels: Uint8Array): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes);
  try {
    const count = pixels.length / (IMAGE.height * IMAGE.width);
    const out = await session.run({
      features: new Tensor('uint8', pixels, [count, IMAGE.height, IMAGE.width, IMAGE.channels]),
    });
    return out['probabilities']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * A seeded, untrained 28x28 grey CNN exported to ONNX (uint8 input) with the image metadata and a drift reference
 * fitted on `trainingImages` synthetic images and the classes the model itself predicts for them.
 */
export async function imageClassifierOnnx(
  modelName: string,
  seed: number,
  options: { trainingImages?: number; filters?: number; blocks?: number } = {},
): Promise<Uint8Array> {
  const spec = randomCnnClassifierSpec(IMAGE, FASHION_LABELS, createRng(seed), {
    filters: options.filters ?? 4,
    blocks: options.blocks ?? 2,
  });
  const image = { ...IMAGE, inputType: 'uint8' as const };
  const bare = exportCnnClassifierToOnnx(
    spec,
    encodeOnnxMetadata({ modelName, labels: FASHION_LABELS, image, runId: IRIS_RUN_ID }),
    { inputType: 'uint8' },
  );
  const count = options.trainingImages ?? 200;
  const training = syntheticImages(count, seed + 1);
  const probabilities = await ortProbabilities(bare, training);
  const k = FASHION_LABELS.length;
  const labels = Array.from({ length: count }, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probabilities[i * k + c] > probabilities[i * k + best]) best = c;
    return best;
  });
  const imageReference = fitImageDriftReference(training, IMAGE, labels, k);
  return exportCnnClassifierToOnnx(
    spec,
    encodeOnnxMetadata({ modelName, labels: FASHION_LABELS, image, imageReference, runId: IRIS_RUN_ID }),
    { inputType: 'uint8' },
  );
}
