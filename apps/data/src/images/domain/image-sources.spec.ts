import type { ZipEntry } from '@sepal/ml';
import { mergeLabels } from './image-reader';
import { archiveLayout, declaredSplit, proportionalCounts } from './image-sources';

const entry = (name: string): ZipEntry => ({
  name,
  size: 1,
  isDirectory: name.endsWith('/'),
  read: () => new Uint8Array([1]),
});

describe('what an archive holds', () => {
  it('takes class folders below one optional top folder, and ignores loose and hidden files', () => {
    const layout = archiveLayout(
      [
        'pets/',
        'pets/README.md',
        'pets/cat/1.png',
        'pets/dog/a/2.jpg',
        'pets/.DS_Store',
        '__MACOSX/pets/cat/._1.png',
      ].map(entry),
    );
    expect(layout.kind).toBe('folders');
    if (layout.kind !== 'folders') return;
    expect(layout.images.map((i) => [i.file, i.className])).toEqual([
      ['pets/cat/1.png', 'cat'],
      ['pets/dog/a/2.jpg', 'dog'],
    ]);
    expect(layout.ignored).toEqual(['pets/README.md']);
    // Without a top folder the first level is the class.
    const flat = archiveLayout(['cat/1.png', 'dog/2.png'].map(entry));
    expect(flat.kind === 'folders' && flat.images.map((i) => i.className)).toEqual(['cat', 'dog']);
  });

  it('pairs IDX files by prefix and reads the split their names declare', () => {
    const layout = archiveLayout(
      [
        'mnist/t10k-labels-idx1-ubyte.gz',
        'mnist/train-images-idx3-ubyte.gz',
        'mnist/t10k-images-idx3-ubyte.gz',
        'mnist/train-labels-idx1-ubyte.gz',
        'mnist/LICENSE',
      ].map(entry),
    );
    expect(layout.kind).toBe('idx');
    if (layout.kind !== 'idx') return;
    expect(layout.pairs.map((p) => [p.prefix, p.split, p.imagesName])).toEqual([
      ['mnist/t10k', 'test', 'mnist/t10k-images-idx3-ubyte.gz'],
      ['mnist/train', 'train', 'mnist/train-images-idx3-ubyte.gz'],
    ]);
    expect(layout.ignored).toEqual(['mnist/LICENSE']);
    expect(declaredSplit('digits')).toBeNull();
  });

  it('names a lone IDX file and an archive without class folders', () => {
    expect(() => archiveLayout([entry('train-images-idx3-ubyte')])).toThrow(
      'train-images-idx3-ubyte has no labels file beside it',
    );
    expect(() => archiveLayout([entry('a.png'), entry('b.png')])).toThrow('no image in a class folder');
  });

  it('shares a limit between file pairs in proportion, and keeps label indexes stable', () => {
    expect(proportionalCounts([60_000, 10_000], 200)).toEqual([172, 28]);
    expect(proportionalCounts([5, 3], undefined)).toEqual([5, 3]);
    expect(proportionalCounts([5, 3], 100)).toEqual([5, 3]);
    expect(mergeLabels(['owl', 'cat'], ['dog', 'cat', 'class10', 'class9'])).toEqual([
      'owl',
      'cat',
      'class9',
      'class10',
      'dog',
    ]);
    expect(mergeLabels([], ['T-shirt', 'Bag'], false)).toEqual(['T-shirt', 'Bag']);
  });
});
