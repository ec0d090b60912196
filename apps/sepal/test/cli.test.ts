import { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../data/src';
import { RegistryConfig, startRegistryApp } from '../../registry/src';
import { ExitCode, runCli } from '../src/cli';

/** Runs the CLI in this process against the given services, capturing what it prints. */
async function sepal(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await runCli(args);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('the sepal CLI against running services (embedded adapters)', () => {
  let apps: INestApplication[] = [];
  let modelsDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    const namespace = uniqueNamespace('cli');
    modelsDir = mkdtempSync(join(tmpdir(), 'sepal-cli-'));
    const env = { SEPAL_HOME: `memory://${namespace}`, SEPAL_NAMESPACE: namespace, LOG_LEVEL: 'error' };
    const data = await startDataApp(
      DataConfig.load({
        ...env,
        DATA_PORT: '0',
        DATA_HOST: '127.0.0.1',
        DATA_DIR: join(__dirname, '../../../data'),
      }),
    );
    const registry = await startRegistryApp(
      RegistryConfig.load({ ...env, REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', MODELS_DIR: modelsDir }),
    );
    apps = [data, registry];
    process.env.SEPAL_DATA_URL = (await data.getUrl()).replace('[::1]', '127.0.0.1');
    process.env.SEPAL_REGISTRY_URL = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
    process.env.SEPAL_TRAINER_URL = 'http://127.0.0.1:9'; // nothing listens on the discard port
  }, 60_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await closeEmbeddedDatabases();
    rmSync(modelsDir, { recursive: true, force: true });
    process.env = saved;
  });

  it('says what is wrong with a wrong command or a missing argument, with exit code 2', async () => {
    const unknown = await sepal(['bogus']);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.err).toMatch(/unknown command 'bogus'/);
    const missing = await sepal(['data', 'show']);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.err).toMatch(/missing required argument 'dataset'/);
  });

  it('explains every command with --help and exits 0', async () => {
    const help = await sepal(['up', '--help']);
    expect(help.code).toBe(ExitCode.ok);
    expect(help.out).toMatch(/Start every Sepal service in this process/);
    expect((await sepal(['train', '--help'])).out).toMatch(/--grid <grid>/);
  });

  it('imports and lists versions, as a table and as JSON for scripts', async () => {
    const imported = await sepal(['data', 'import', 'iris']);
    expect(imported.code).toBe(ExitCode.ok);
    expect(imported.out).toMatch(/Created version v1 [0-9a-f]{64}/);
    const listed = await sepal(['--json', 'data', 'ls', 'iris']);
    expect(listed.code).toBe(ExitCode.ok);
    const versions = JSON.parse(listed.out);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ seq: 1, rowCount: 150, trainRows: 120, testRows: 30 });
    expect((await sepal(['data', 'ls'])).out).toMatch(/^DATASET\s+VERSIONS/m);
  });

  it('prints JSON arrays of runs and models for scripts', async () => {
    const runs = await sepal(['--json', 'runs', 'ls']);
    expect(runs.code).toBe(ExitCode.ok);
    expect(Array.isArray(JSON.parse(runs.out))).toBe(true);
    const models = await sepal(['--json', 'models', 'ls']);
    expect(models.code).toBe(ExitCode.ok);
    expect(JSON.parse(models.out)).toEqual([]);
  });

  it('exits 1 with the service message and hint when a request is refused', async () => {
    const result = await sepal(['data', 'show', 'nope']);
    expect(result.code).toBe(ExitCode.failed);
    expect(result.err).toMatch(/error: unknown dataset 'nope'\nhint: Known datasets: iris/);
  });

  it('exits 3 when a service is unreachable, and says how to fix it', async () => {
    const result = await sepal(['train', '--dataset', 'iris', '--no-follow']);
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.err).toMatch(/cannot reach the trainer service at http:\/\/127\.0\.0\.1:9/);
    expect(result.err).toMatch(/hint: Start it/);
  });
});
