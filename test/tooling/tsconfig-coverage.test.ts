/*
 * `npm run lint` type-checks with tsconfig.json (ts-jest only transpiles), so every TypeScript file, tests included,
 * must be in that program; `npm run build` (tsconfig.build.json) compiles only what runs.
 */
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '../..');
const SKIPPED = new Set(['node_modules', 'dist', 'coverage', '.git', '.sepal']);

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.isFile() && /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function programFiles(configName: string): Set<string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, configName),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configName}`);
  return new Set(parsed.fileNames.map((file) => relative(ROOT, file).split(sep).join('/')));
}

const WEB_TSCONFIG = 'apps/console/web/tsconfig.json';
const fromRoot = (file: string) => relative(ROOT, file).split(sep).join('/');
const isTest = (file: string) =>
  /\.(spec|test)\.ts$/.test(file) || /(^|\/)test\//.test(file) || file.startsWith('libs/testing/');

describe('type checking covers every file', () => {
  const files = typeScriptFiles(ROOT).map(fromRoot);

  it('finds the tests it is about', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'test/tooling/tsconfig-coverage.test.ts',
        'apps/data/test/data-service.test.ts',
        'libs/ml/src/tuning/grid.spec.ts',
      ]),
    );
  });

  it('tsconfig.json and the console web app tsconfig (npm run lint) include every TypeScript file, tests, specs and benchmarks', () => {
    // The console's browser code has its own program (DOM lib, JSX); `npm run lint` checks both.
    const checked = new Set([...programFiles('tsconfig.json'), ...programFiles(WEB_TSCONFIG)]);
    expect(files.filter((file) => !checked.has(file))).toEqual([]);
  });

  it('tsconfig.build.json (npm run build) compiles no test', () => {
    const built = [...programFiles('tsconfig.build.json')];
    expect(built.filter(isTest)).toEqual([]);
    expect(built).toEqual(expect.arrayContaining(['apps/sepal/src/main.ts', 'bench/train.ts']));
  });
});
