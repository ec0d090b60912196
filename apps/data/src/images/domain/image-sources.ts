import type { ZipEntry } from '@sepal/ml';

/** One picture of a class-per-subfolder archive: `<class>/<file>` (below one optional top folder). */
export interface FolderImage {
  file: string;
  className: string;
  size: number;
  read(): Uint8Array;
}

/** An IDX images file and its labels file; the split they declare (train…, t10k…/test…), if any. */
export interface IdxPair {
  prefix: string;
  split: 'train' | 'test' | null;
  imagesName: string;
  labelsName: string;
  images(): Uint8Array;
  labels(): Uint8Array;
}

export type ArchiveLayout =
  | { kind: 'folders'; images: FolderImage[]; ignored: string[] }
  | { kind: 'idx'; pairs: IdxPair[]; ignored: string[] };

/** An archive whose layout is not one Sepal reads (422 naming what is wrong). */
export class LayoutError extends Error {}

const IDX_NAME = /^(.*?)[-_.]?(images|labels)[-.]idx([13])-ubyte(\.gz)?$/i;
const SKIPPED = (name: string) => name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');

/** The split an IDX file pair's name declares: Fashion-MNIST's `train-…` and `t10k-…`, or `test-…`. */
export function declaredSplit(prefix: string): 'train' | 'test' | null {
  const base = prefix.split('/').pop() ?? '';
  if (/^train/i.test(base)) return 'train';
  if (/^(t10k|test)/i.test(base)) return 'test';
  return null;
}

/**
 * What a zip holds: IDX pairs (when any IDX file is in it) or pictures in class folders. Hidden files and macOS
 * resource forks are skipped; files outside a class folder are listed as ignored.
 */
export function archiveLayout(entries: readonly ZipEntry[]): ArchiveLayout {
  const files = entries.filter((e) => !e.isDirectory && !SKIPPED(e.name));
  const idx = files.filter((e) => IDX_NAME.test(e.name.split('/').pop() ?? ''));
  if (idx.length) return idxLayout(idx, files);
  const split = files.map((e) => e.name.split('/').filter(Boolean));
  const top = split[0]?.[0];
  // One top folder (a zipped folder of class folders) is not a class: its README and such are ignored.
  const strip =
    split.every((parts) => parts.length >= 2 && parts[0] === top) && split.some((parts) => parts.length >= 3)
      ? 1
      : 0;
  const images: FolderImage[] = [];
  const ignored: string[] = [];
  files.forEach((entry, i) => {
    const parts = split[i].slice(strip);
    if (parts.length < 2) ignored.push(entry.name);
    else images.push({ file: entry.name, className: parts[0], size: entry.size, read: () => entry.read() });
  });
  if (!images.length) {
    throw new LayoutError(
      'the archive holds no image in a class folder: put each class’s PNG or JPEG files in a folder named after the class (cat/1.png, dog/2.jpg)',
    );
  }
  return { kind: 'folders', images, ignored };
}

function idxLayout(idx: readonly ZipEntry[], files: readonly ZipEntry[]): ArchiveLayout {
  const byPrefix = new Map<string, { images?: ZipEntry; labels?: ZipEntry }>();
  for (const entry of idx) {
    const base = entry.name.split('/').pop() ?? '';
    const [, stem, kind] = IDX_NAME.exec(base) ?? [];
    const prefix = `${entry.name.slice(0, entry.name.length - base.length)}${stem}`;
    const pair = byPrefix.get(prefix) ?? {};
    pair[kind.toLowerCase() as 'images' | 'labels'] = entry;
    byPrefix.set(prefix, pair);
  }
  const pairs: IdxPair[] = [];
  for (const [prefix, pair] of [...byPrefix].sort(([a], [b]) => a.localeCompare(b))) {
    if (!pair.images || !pair.labels) {
      const lone = (pair.images ?? pair.labels)!.name;
      throw new LayoutError(
        `${lone} has no ${pair.images ? 'labels' : 'images'} file beside it (IDX files come in pairs: <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte)`,
      );
    }
    const { images, labels } = pair as { images: ZipEntry; labels: ZipEntry };
    pairs.push({
      prefix,
      split: declaredSplit(prefix),
      imagesName: images.name,
      labelsName: labels.name,
      images: () => images.read(),
      labels: () => labels.read(),
    });
  }
  const used = new Set(idx.map((e) => e.name));
  return { kind: 'idx', pairs, ignored: files.filter((e) => !used.has(e.name)).map((e) => e.name) };
}

/** How many images each pair gives to an import of at most `limit` (in proportion to the pairs' sizes). */
export function proportionalCounts(sizes: readonly number[], limit: number | undefined): number[] {
  const total = sizes.reduce((n, s) => n + s, 0);
  if (limit === undefined || limit >= total) return [...sizes];
  const counts = sizes.map((s) => Math.floor((s * limit) / total));
  let left = limit - counts.reduce((n, c) => n + c, 0);
  for (let i = 0; left > 0 && i < sizes.length; i++) {
    if (counts[i] < sizes[i]) {
      counts[i] += 1;
      left -= 1;
    }
  }
  return counts;
}
