/*
 * The import-cycle check (scripts/check-cycles.mjs, run by `npm run lint`) on small trees written for the test: if it
 * stops seeing a cycle (a type-only one, one through an alias, one through a barrel), these cases fail.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const SCRIPT = join(__dirname, '../../scripts/check-cycles.mjs');
const TSCONFIG = JSON.stringify({
  compilerOptions: { baseUrl: './', paths: { '@x/lib': ['libs/lib/src'] } },
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sepal-cycles-'));
  await writeFile(join(root, 'tsconfig.json'), TSCONFIG);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function write(files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/** The check's exit code and what it printed. */
async function check(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, root]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

it('passes a tree without cycles', async () => {
  await write({
    'apps/a/src/a.ts': "import { b } from './b';\nexport const a = b;",
    'apps/a/src/b.ts': "import type { T } from '@x/lib';\nexport const b: T = 1;",
    'libs/lib/src/index.ts': 'export type T = number;',
  });
  expect(await check()).toEqual({ code: 0, output: 'import cycles: none\n' });
});

it('fails on a cycle of type-only imports, naming its files', async () => {
  await write({
    'libs/lib/src/spec.ts': "import type { Pre } from './pre';\nexport interface Spec { pre: Pre }",
    'libs/lib/src/pre.ts': "import type { Spec } from './spec';\nexport interface Pre { spec?: Spec }",
  });
  const { code, output } = await check();
  expect(code).toBe(1);
  expect(output).toContain('import cycles: 1');
  expect(output).toMatch(/libs\/lib\/src\/pre\.ts\n\s+libs\/lib\/src\/spec\.ts/);
});

it('fails on a cycle of three files through a path alias and a barrel re-export', async () => {
  await write({
    'apps/a/src/a.ts': "import { lib } from '@x/lib';\nexport const a = lib;",
    'libs/lib/src/index.ts': "export * from './lib';",
    'libs/lib/src/lib.ts': "import { a } from '../../../apps/a/src/a';\nexport const lib = () => a;",
  });
  const { code, output } = await check();
  expect(code).toBe(1);
  expect(output).toMatch(/apps\/a\/src\/a\.ts\n\s+libs\/lib\/src\/index\.ts\n\s+libs\/lib\/src\/lib\.ts/);
});
