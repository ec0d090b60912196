import { Readable } from 'node:stream';
import { findNulCharacter } from './refuse-nul-characters';

describe('findNulCharacter', () => {
  it('names where a NUL character is: in a string, in a key, at any depth', () => {
    expect(findNulCharacter({ name: 'a\u0000b' })).toBe('body.name');
    expect(findNulCharacter({ features: [1, { x: ['ok', '\u0000'] }] })).toBe('body.features.1.x.1');
    expect(findNulCharacter({ tags: { 'k\u0000': 'v' } })).toBe('body.tags (a key)');
    expect(findNulCharacter('\u0000')).toBe('body');
  });

  it('finds nothing in clean values, numbers, null or a raw upload', () => {
    expect(findNulCharacter({ name: 'iris', n: 0, nothing: null, list: [true, 'é😀'] })).toBeUndefined();
    expect(findNulCharacter(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(findNulCharacter(undefined)).toBeUndefined();
  });

  it('does not look into a streamed body: an object graph with cycles, not JSON (walking it exhausted memory)', () => {
    const stream = Readable.from(['a\u0000b']);
    const cyclic: Record<string, unknown> = { name: 'ok' };
    cyclic.self = cyclic;
    expect(findNulCharacter(stream)).toBeUndefined();
    expect(findNulCharacter({ upload: stream })).toBeUndefined();
    expect(findNulCharacter(cyclic)).toBeUndefined();
    expect(findNulCharacter(Object.assign(Object.create(null) as object, { k: '\u0000' }))).toBe('body.k');
  });

  it('walks a body nested deeper than the call stack without overflowing', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findNulCharacter(deep)).toMatch(/^body(\.0)+$/);
  });
});
