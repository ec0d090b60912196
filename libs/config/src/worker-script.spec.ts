import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { workerScript } from './worker-script';

describe('workerScript', () => {
  let root: string;
  const sources = () => path.join(root, 'apps/x/src/feature');
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'sepal-worker-script-'));
    writeFileSync(path.join(root, 'package.json'), '{}');
    mkdirSync(sources(), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes the compiled script beside the module when it runs from dist', () => {
    writeFileSync(path.join(sources(), 'job-worker.js'), '');
    expect(workerScript(sources(), 'job-worker')).toBe(path.join(sources(), 'job-worker.js'));
  });

  it("takes the build's copy under the repository's dist when the module runs from its sources", () => {
    const built = path.join(root, 'dist/apps/x/src/feature');
    mkdirSync(built, { recursive: true });
    writeFileSync(path.join(built, 'job-worker.js'), '');
    expect(workerScript(sources(), 'job-worker')).toBe(path.join(built, 'job-worker.js'));
  });

  it('says where it looked and what to run when neither exists', () => {
    expect(() => workerScript(sources(), 'job-worker')).toThrow(
      /job-worker\.js is missing .*dist\/apps\/x\/src\/feature\/job-worker\.js.*run `npm run build` first/,
    );
  });
});
