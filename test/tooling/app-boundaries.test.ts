/*
 * The app-boundary rule (eslint-rules/app-boundaries.mjs), run through ESLint with the repository's own config on
 * small in-memory files: if the rule or its wiring in eslint.config.mjs stops working, these cases fail.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = join(__dirname, '../..');
const RULE = 'sepal/app-boundaries';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The app-boundary messages ESLint gives `code` as if it were the file `file` (a path from the root). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length) throw new Error(`ESLint could not parse the snippet: ${fatal[0].message}`);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('an app never imports another app', () => {
  it.each([
    ['apps/trainer/src/jobs/x.ts', "import { RegistryModule } from '../../../registry/src';"],
    ['apps/trainer/src/jobs/x.ts', "import { RegistryConfig } from '../../../registry/src/registry.config';"],
    ['apps/trainer/src/x.ts', "import { startDataApp } from '../../data/src';"],
    ['apps/trainer/src/x.ts', "import { startDataApp } from '../../../apps/data/src/index';"],
    ['apps/trainer/src/x.ts', "import { startDataApp } from 'apps/data/src';"],
    ['apps/trainer/src/x.ts', "export { startDataApp } from '../../data/src';"],
    ['apps/trainer/src/x.ts', "export * from '../../data/src';"],
    ['apps/trainer/src/x.ts', "import type { DataConfigValues } from '../../data/src';"],
    ['apps/trainer/src/x.ts', "type T = typeof import('../../data/src');"],
    ['apps/trainer/src/x.ts', "const m = require('../../data/src');"],
    ['apps/trainer/src/x.ts', "void import('../../data/src/data.module');"],
    ['apps/trainer/test/x.test.ts', "import { startRegistryApp } from '../../registry/src';"],
    ['apps/trainer/test/support/x.ts', "import { DataConfig } from '../../../data/src/data.config';"],
    ['apps/trainer/test/x.test.ts', "jest.mock('../../registry/src/runs/runs.service');"],
    [
      'apps/inference/src/x.ts',
      "import { startRegistryApp } from '../../../dist/apps/registry/src/index.js';",
    ],
  ])('%s: %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([expect.stringMatching(/never imports another app/)]);
  });

  it('lets an app import itself and the libs', async () => {
    expect(
      await boundaryErrors(
        'apps/trainer/test/x.test.ts',
        [
          "import { startTrainerApp } from '../src';",
          "import { firstAttemptRunId } from '../src/jobs/run-ids';",
          "import { createEventBus } from '@sepal/messaging';",
          "import { createTestDatabase } from '../../../libs/testing/src/test-database';",
          "import { readFileSync } from 'node:fs';",
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('keeps the libs free of apps', async () => {
    expect(
      await boundaryErrors(
        'libs/messaging/src/x.ts',
        "import { TrainerModule } from '../../../apps/trainer/src';",
      ),
    ).toEqual([expect.stringMatching(/A lib never imports an app/)]);
  });
});

describe('tests, benchmarks, scripts and the CLI import an app only through its index', () => {
  it.each([
    ['test/monitoring/x.test.ts', "import { DataMetrics } from '../../apps/data/src/metrics';"],
    ['test/x.test.ts', "import { RunsService } from '../apps/registry/src/runs/runs.service';"],
    ['bench/x.ts', "import { ModelHolder } from '../apps/inference/src/model/model-holder';"],
    ['bench/x.ts', "const m = await import('../apps/inference/src/model/model-holder');"],
    ['scripts/x.ts', "import { trainDenseClassifier } from '../apps/trainer/src/training/dense-classifier';"],
    ['apps/sepal/src/up/x.ts', "import { DataConfig } from '../../../data/src/data.config';"],
    ['apps/sepal/test/x.test.ts', "import { RegistryModule } from '../../registry/src/registry.module';"],
    ['test/x/worker.js', "require('../../dist/apps/trainer/src/jobs/run-ids.js');"],
  ])('%s: %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([
      expect.stringMatching(/only through its public entry/),
    ]);
  });

  it.each([
    ['test/monitoring/x.test.ts', "import { startDataApp } from '../../apps/data/src';"],
    ['test/x.test.ts', "import { startRegistryApp } from '../apps/registry/src/index';"],
    ['bench/x.ts', "import { ModelHolder } from '../apps/inference/src/index.ts';"],
    ['apps/sepal/src/up/x.ts', "import { DataConfig } from '../../../data/src';"],
    ['apps/sepal/src/x.ts', "import { printer } from './output/printer';"],
    ['test/x/worker.js', "require('../../dist/apps/trainer/src/index.js');"],
  ])('allows %s: %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });

  it('reports a module path computed at run time, which it cannot check', async () => {
    expect(
      await boundaryErrors(
        'test/x.test.ts',
        "const m = require(['..', 'apps', 'registry', 'src'].join('/'));",
      ),
    ).toEqual([expect.stringMatching(/computed at run time/)]);
  });
});
