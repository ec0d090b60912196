import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import type { OnnxImageInput } from '@sepal/contracts';
import { decodeImageInto } from './image-decode';
import { ImageInputError } from './image-errors';
import { readImageHeader } from './image-header';
import { decodeImages, imageSourcesFromJson } from './image-request';

const GREY: OnnxImageInput = { height: 4, width: 3, channels: 1, inputType: 'uint8' };
const RGB: OnnxImageInput = { ...GREY, channels: 3 };
const LIMITS = { maxBytes: 10_000, maxPixels: 1_000_000, maxImages: 3 };

function png(width: number, height: number, rgba: (p: number) => number[], colorType = 6): Buffer {
  const image = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) image.data.set(rgba(p), p * 4);
  return PNG.sync.write(image, { colorType: colorType as 0 | 2 | 4 | 6 });
}

function refusal(run: () => unknown): { status: number; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ImageInputError) return { status: error.getStatus(), message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('image headers', () => {
  it('reads size and channels of PNGs (grey, grey+alpha, RGB, RGBA) and JPEGs before decoding', () => {
    expect(
      readImageHeader(
        png(3, 4, () => [9, 9, 9, 255], 0),
        'x',
      ),
    ).toEqual({
      format: 'png',
      width: 3,
      height: 4,
      channels: 1,
    });
    expect(
      readImageHeader(
        png(3, 4, () => [9, 9, 9, 255], 4),
        'x',
      ).channels,
    ).toBe(1);
    expect(
      readImageHeader(
        png(3, 4, () => [1, 2, 3, 255], 2),
        'x',
      ).channels,
    ).toBe(3);
    const j = jpeg.encode({ width: 5, height: 7, data: Buffer.alloc(5 * 7 * 4, 100) }, 90).data;
    expect(readImageHeader(j, 'x')).toEqual({ format: 'jpeg', width: 5, height: 7, channels: 3 });
  });

  it('refuses what is not PNG nor JPEG (415) and a truncated header (422)', () => {
    expect(refusal(() => readImageHeader(Buffer.from('GIF89a....'), 'images[1]'))).toEqual({
      status: 415,
      message: 'images[1]: is neither a PNG nor a JPEG image (by its first bytes)',
    });
    expect(refusal(() => readImageHeader(png(3, 4, () => [0, 0, 0, 255]).subarray(0, 20), 'x')).status).toBe(
      422,
    );
    expect(refusal(() => readImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2]), 'x')).status).toBe(422);
    expect(refusal(() => readImageHeader(new Uint8Array(0), 'x')).status).toBe(422);
  });
});

describe('decoding into the model input', () => {
  it('keeps grey values exactly, turns colour into BT.601 luma for a grey model, repeats grey for RGB', () => {
    const out = new Float32Array(12);
    decodeImageInto(
      png(3, 4, (p) => [p * 20, p * 20, p * 20, 255], 0),
      'x',
      GREY,
      LIMITS,
      out,
      0,
    );
    expect(Array.from(out)).toEqual(Array.from({ length: 12 }, (_, p) => p * 20));
    decodeImageInto(
      png(3, 4, () => [255, 0, 0, 255], 2),
      'x',
      GREY,
      LIMITS,
      out,
      0,
    );
    expect(out[0]).toBe(76); // PIL's convert('L') of pure red
    const rgb = new Float32Array(36);
    decodeImageInto(
      png(3, 4, () => [7, 7, 7, 255], 0),
      'x',
      RGB,
      LIMITS,
      rgb,
      0,
    );
    expect(Array.from(rgb)).toEqual(new Array(36).fill(7));
  });

  it('refuses another size with 422 naming both shapes, never resizing', () => {
    const { status, message } = refusal(() =>
      decodeImageInto(
        png(4, 4, () => [0, 0, 0, 255], 0),
        'file "a.png"',
        GREY,
        LIMITS,
        new Float32Array(12),
        0,
      ),
    );
    expect(status).toBe(422);
    expect(message).toContain('file "a.png": the model takes 4x3 grey (1 channel) images [4, 3, 1]');
    expect(message).toContain('this PNG is 4x4 grey (1 channel) [4, 4, 1]');
  });

  it('checks the byte and pixel limits before decoding (413 naming them)', () => {
    const big = png(3, 4, () => [1, 1, 1, 255], 0);
    expect(
      refusal(() => decodeImageInto(big, 'x', GREY, { ...LIMITS, maxBytes: 10 }, new Float32Array(12), 0)),
    ).toEqual({
      status: 413,
      message: `x: ${big.length} bytes is over the limit of 10 bytes per image (IMAGE_MAX_BYTES)`,
    });
    // A header that claims 50,000 x 50,000 pixels (a decompression bomb) is refused on its header alone.
    const bomb = Buffer.from(big);
    bomb.writeUInt32BE(50_000, 16);
    bomb.writeUInt32BE(50_000, 20);
    const { status, message } = refusal(() =>
      decodeImageInto(bomb, 'x', GREY, LIMITS, new Float32Array(12), 0),
    );
    expect(status).toBe(413);
    expect(message).toMatch(
      /50000x50000 is 2500000000 pixels, over the limit of 1000000 \(IMAGE_MAX_PIXELS\)/,
    );
  });

  it('a corrupt image of the right size is a 422', () => {
    const broken = Buffer.from(png(3, 4, (p) => [p, p, p, 255], 0));
    const idat = broken.indexOf('IDAT');
    for (let i = idat + 4; i < broken.length - 12; i++) broken[i] ^= 0x33;
    const { status, message } = refusal(() =>
      decodeImageInto(broken, 'image', GREY, LIMITS, new Float32Array(12), 0),
    );
    expect(status).toBe(422);
    expect(message).toMatch(/^image: cannot be decoded: a corrupt PNG/);
  });
});

describe('image requests', () => {
  const one = png(3, 4, (p) => [p, p, p, 255], 0).toString('base64');

  it('takes {"image"} (single) or {"images"} (a batch), with or without a data URL prefix', async () => {
    const single = imageSourcesFromJson({ image: `data:image/png;base64,${one}` }, GREY, LIMITS);
    expect(single.single).toBe(true);
    const batch = imageSourcesFromJson({ images: [one, one] }, GREY, LIMITS);
    expect(batch.single).toBe(false);
    const parsed = await decodeImages(batch.sources, GREY, LIMITS);
    expect(parsed.rows).toBe(2);
    expect(Array.from(parsed.data.subarray(12, 24))).toEqual(Array.from({ length: 12 }, (_, p) => p));
  });

  it('names the field of a bad request, and the image count limit', () => {
    expect(() => imageSourcesFromJson({ features: [1] }, GREY, LIMITS)).toThrow(
      'features: unknown field for an image model',
    );
    expect(() => imageSourcesFromJson({ images: [] }, GREY, LIMITS)).toThrow(
      'images: must be a non-empty array',
    );
    expect(() => imageSourcesFromJson({ images: [one, 5] }, GREY, LIMITS)).toThrow(
      'images[1]: must be a base64 string, got 5',
    );
    expect(refusal(() => imageSourcesFromJson({ image: 'ab$d' }, GREY, LIMITS)).status).toBe(422);
    expect(refusal(() => imageSourcesFromJson({ images: [one, one, one, one] }, GREY, LIMITS))).toEqual({
      status: 413,
      message: 'images: 4 images is over the limit of 3 per request (IMAGE_MAX_PER_REQUEST)',
    });
  });
});
