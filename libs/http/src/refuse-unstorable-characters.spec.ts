import { Readable } from 'node:stream';
import { findUnstorableCharacter } from './refuse-unstorable-characters';

const nul = (where: string) => ({ where, what: expect.stringMatching(/^a NUL character/) as unknown });

describe('findUnstorableCharacter', () => {
  it('names a lone surrogate, high or low, in a string or a key; a whole pair is fine', () => {
    expect(findUnstorableCharacter({ tags: { k: '\ud800' } })?.where).toBe('body.tags.k');
    expect(findUnstorableCharacter({ tags: { k: 'x\udc00y' } })?.what).toMatch(/lone UTF-16 surrogate/);
    expect(findUnstorableCharacter({ tags: { '\udbff': 'v' } })?.where).toBe('body.tags (a key)');
    expect(findUnstorableCharacter({ name: '\ud83d\ude00', reversed: 'ok' })).toBeUndefined();
    expect(findUnstorableCharacter({ name: '\ude00\ud83d' })?.where).toBe('body.name');
  });

  it('names where a NUL character is: in a string, in a key, at any depth', () => {
    expect(findUnstorableCharacter({ name: 'a\u0000b' })).toEqual(nul('body.name'));
    expect(findUnstorableCharacter({ features: [1, { x: ['ok', '\u0000'] }] })).toEqual(
      nul('body.features.1.x.1'),
    );
    expect(findUnstorableCharacter({ tags: { 'k\u0000': 'v' } })).toEqual(nul('body.tags (a key)'));
    expect(findUnstorableCharacter('\u0000')).toEqual(nul('body'));
  });

  it('finds nothing in clean values, numbers, null or a raw upload', () => {
    expect(
      findUnstorableCharacter({ name: 'iris', n: 0, nothing: null, list: [true, 'é😀'] }),
    ).toBeUndefined();
    expect(findUnstorableCharacter(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(findUnstorableCharacter(undefined)).toBeUndefined();
  });

  it('does not look into a streamed body: an object graph with cycles, not JSON (walking it exhausted memory)', () => {
    const stream = Readable.from(['a\u0000b']);
    const cyclic: Record<string, unknown> = { name: 'ok' };
    cyclic.self = cyclic;
    expect(findUnstorableCharacter(stream)).toBeUndefined();
    expect(findUnstorableCharacter({ upload: stream })).toBeUndefined();
    expect(findUnstorableCharacter(cyclic)).toBeUndefined();
    expect(findUnstorableCharacter(Object.assign(Object.create(null) as object, { k: '\u0000' }))).toEqual(
      nul('body.k'),
    );
  });

  it('walks a body nested deeper than the call stack without overflowing', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableCharacter(deep)).toMatchObject({
      where: expect.stringMatching(/^body(\.0)+$/) as unknown,
    });
  });
});
