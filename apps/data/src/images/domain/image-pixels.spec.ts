import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, ImageFileError, ImageTooLargeError, sniffImageFormat } from './image-decode';
import { toModelInput } from './image-resize';

function rgba(width: number, height: number, pixel: (x: number, y: number) => number[]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  }
  return { width, height, rgba: data };
}

function pngOf(width: number, height: number, pixel: (x: number, y: number) => number[]): Uint8Array {
  const png = new PNG({ width, height });
  png.data.set(rgba(width, height, pixel).rgba);
  return new Uint8Array(PNG.sync.write(png));
}

describe('decoding pictures', () => {
  it('decodes PNG and JPEG to RGBA, telling them apart by their first bytes', () => {
    const png = pngOf(3, 2, (x) => [x * 100, 0, 0, 255]);
    expect(sniffImageFormat(png)).toBe('png');
    const decoded = decodeImage(png, 100);
    expect([decoded.width, decoded.height, decoded.rgba[4], decoded.rgba[7]]).toEqual([3, 2, 100, 255]);
    const jpeg = new Uint8Array(
      encodeJpeg({ width: 4, height: 4, data: Buffer.from(rgba(4, 4, () => [200, 200, 200, 255]).rgba) }, 95)
        .data,
    );
    expect(sniffImageFormat(jpeg)).toBe('jpeg');
    const grey = decodeImage(jpeg, 100);
    expect([grey.width, grey.height]).toEqual([4, 4]);
    expect(Math.abs(grey.rgba[0] - 200)).toBeLessThan(4);
  });

  it('says what is wrong with a file that is not a picture or is cut short', () => {
    expect(() => decodeImage(new TextEncoder().encode('GIF89a...'), 100)).toThrow(
      new ImageFileError('is neither a PNG nor a JPEG (judged by its first bytes)'),
    );
    const png = pngOf(4, 4, () => [1, 2, 3, 255]);
    expect(() => decodeImage(png.subarray(0, png.length - 20), 100)).toThrow(/cannot be decoded as PNG/);
  });

  it('refuses a PNG over the pixel limit from its header, before decoding it', () => {
    const png = pngOf(20, 10, () => [0, 0, 0, 255]);
    // The pixels after the header are garbage: only the header was read.
    const bomb = new Uint8Array(png);
    bomb.fill(7, 40);
    expect(() => decodeImage(bomb, 199)).toThrow(ImageTooLargeError);
    expect(() => decodeImage(bomb, 199)).toThrow('is 20x10 pixels, more than DATA_MAX_IMAGE_PIXELS=199');
  });
});

describe('pictures as model input', () => {
  const spec = { height: 2, width: 2, channels: 1, resize: 'stretch' } as const;

  it('converts to grey by luminance with transparency on black, and keeps RGB when asked', () => {
    const image = rgba(2, 1, (x) => (x === 0 ? [255, 0, 0, 255] : [255, 255, 255, 0]));
    expect([...toModelInput(image, { ...spec, height: 1 })]).toEqual([76, 0]);
    expect([...toModelInput(image, { ...spec, height: 1, channels: 3 })]).toEqual([255, 0, 0, 0, 0, 0]);
  });

  it('shrinks by averaging (no aliasing) and keeps a flat picture flat when enlarging', () => {
    // A 4x4 checkerboard of 0 and 255 shrinks to mid grey, not to one of its squares.
    const board = rgba(4, 4, (x, y) => ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    for (const v of toModelInput(board, spec)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(10);
    const flat = rgba(2, 3, () => [90, 90, 90, 255]);
    expect([...new Set(toModelInput(flat, { ...spec, height: 7, width: 5 }))]).toEqual([90]);
  });

  it('fits inside the shape with its aspect ratio, centred on black', () => {
    const wide = rgba(4, 2, () => [255, 255, 255, 255]);
    const out = toModelInput(wide, { ...spec, height: 4, width: 4, resize: 'fit' });
    expect([...out]).toEqual([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]);
  });

  it('refuses another size under resize=exact, saying both sizes', () => {
    expect(() =>
      toModelInput(
        rgba(3, 2, () => [0, 0, 0, 255]),
        { ...spec, resize: 'exact' },
      ),
    ).toThrow('is 3x2, the dataset takes 2x2 (resize=exact)');
  });
});
