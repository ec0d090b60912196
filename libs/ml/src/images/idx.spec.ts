import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx } from './idx';

describe('parseIdx', () => {
  const images = { dims: [2, 2, 3], values: Uint8Array.of(0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255) };

  it('reads a gzipped IDX file of images and a plain one of labels', () => {
    const parsed = parseIdx(gzipSync(encodeIdx(images)));
    expect(parsed.dims).toEqual([2, 2, 3]);
    expect(Array.from(parsed.values)).toEqual(Array.from(images.values));
    const labels = parseIdx(encodeIdx({ dims: [3], values: Uint8Array.of(9, 0, 4) }));
    expect(labels).toEqual({ dims: [3], values: Uint8Array.of(9, 0, 4) });
  });

  it('reads the big-endian header byte by byte', () => {
    const file = encodeIdx({ dims: [1, 300], values: new Uint8Array(300) });
    expect(Array.from(file.subarray(0, 12))).toEqual([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 1, 44]);
  });

  it('refuses files that are not IDX bytes, naming the problem', () => {
    const file = encodeIdx(images);
    expect(() => parseIdx(file.subarray(0, 3), 'train-images')).toThrow('train-images: 3 bytes is too short');
    expect(() => parseIdx(Uint8Array.of(1, 0, 8, 1, 0, 0, 0, 0))).toThrow('not an IDX file');
    const floats = file.slice();
    floats[2] = 0x0d;
    expect(() => parseIdx(floats)).toThrow('element type 0xd is not supported');
    expect(() => parseIdx(file.subarray(0, file.length - 1))).toThrow(
      'dimensions [2, 2, 3] need 12 values, the file has 11',
    );
    expect(() => parseIdx(Uint8Array.of(0x1f, 0x8b, 1, 2, 3))).toThrow('cannot gunzip');
  });
});
