import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository's root (the first folder above this file with a package.json), from the sources or from dist/. */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** A path from the repository's root, made absolute. */
export const fromRoot = (relative: string) => path.join(repoRoot(), relative);
