import { decodeImageBatch, encodeImageBatch, ImageBatchHeader } from './images.dto';

const header: ImageBatchHeader = {
  format: 1,
  dataset: 'shapes',
  version: 'a'.repeat(64),
  split: 'train',
  count: 2,
  height: 2,
  width: 3,
  channels: 1,
  labels: ['cat', 'dog'],
  nextCursor: 41,
};

describe('the image batch format', () => {
  it('round-trips header, NHWC pixels and uint16 labels', () => {
    const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    const bytes = encodeImageBatch({ header, pixels, labels: Uint16Array.from([1, 0]) });
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('SEPALIMG');
    const batch = decodeImageBatch(bytes);
    expect(batch.header).toEqual(header);
    expect([...batch.pixels]).toEqual([...pixels]);
    expect([...batch.labels]).toEqual([1, 0]);
  });

  it('refuses pixels that do not fit the header, and bytes that are not a batch', () => {
    expect(() =>
      encodeImageBatch({ header, pixels: new Uint8Array(11), labels: new Uint16Array(2) }),
    ).toThrow('needs 12 pixel bytes');
    expect(() => decodeImageBatch(new TextEncoder().encode('{"count": 1}'))).toThrow(
      'not a Sepal image batch',
    );
    const bytes = encodeImageBatch({ header, pixels: new Uint8Array(12), labels: new Uint16Array(2) });
    expect(() => decodeImageBatch(bytes.subarray(0, bytes.length - 1))).toThrow('after its header');
  });
});
