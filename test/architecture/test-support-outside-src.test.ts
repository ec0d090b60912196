import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '../..');

/** Every directory under `dir` (recursively), skipping node_modules. */
function directories(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
    .flatMap((entry) => [join(dir, entry.name), ...directories(join(dir, entry.name))]);
}

/*
 * One convention for test support: fakes, harnesses and fixtures live in `apps/<app>/test/` (or libs/testing), never in
 * an app's or a library's `src/`, so the build holds production code only and a spec's helpers are found in one place.
 */
describe('test support lives outside src/', () => {
  it('has no test, tests, fakes or __fixtures__ folder under any src/', () => {
    const roots = ['apps', 'libs'].flatMap((top) =>
      readdirSync(join(ROOT, top)).map((name) => join(ROOT, top, name, 'src')),
    );
    const misplaced = roots
      .flatMap((root) => {
        try {
          return directories(root);
        } catch {
          return [];
        }
      })
      .filter((dir) => /^(test|tests|fakes|__fixtures__|__mocks__)$/.test(dir.split('/').pop() ?? ''))
      .map((dir) => relative(ROOT, dir));
    expect(misplaced).toEqual([]);
  });
});
