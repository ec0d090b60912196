/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BatchJobView } from '@sepal/contracts';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { runCli } from '../../apps/sepal/src';
import { csvCells, IRIS_FEATURES, irisShapedModel } from '../../apps/trainer/src';
import { importIris, inject, Services, startServices, startTrainer } from './support/services';

jest.setTimeout(90_000);

/** Runs the CLI in this process, capturing what it prints. */
async function sepal(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const capture = (append: (text: string) => void) => (chunk: string | Uint8Array) => {
    append(String(chunk));
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture((t) => (out += t)));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture((t) => (err += t)));
  try {
    return { code: await runCli(args), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/*
 * Batch scoring jobs on the embedded adapters (PGlite, the in-process bus): the registry takes the job, a trainer
 * scores it in its worker thread and stores the output. Needs `npm run build` (the scoring worker runs from dist/).
 */
describe('batch scoring jobs (embedded adapters)', () => {
  let services: Services;
  let trainer: NestFastifyApplication;
  let irisRows: number;
  const MODEL = 'iris-batch';

  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => inject(services.registry, method, url, payload, headers);
  const ok = async (...args: Parameters<typeof call>) => {
    const response = await call(...args);
    if (response.statusCode >= 300)
      throw new Error(`${args[0]} ${args[1]}: ${response.statusCode} ${response.body}`);
    return response;
  };
  const job = async (id: string) => (await ok('GET', `/batch-jobs/${id}`)).json() as BatchJobView;
  const waitForState = async (id: string, state: BatchJobView['state']) => {
    await waitFor(async () => (await job(id)).state === state, {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: `batch job ${id} ${state}`,
    });
    return job(id);
  };
  const upload = (csv: string, query = `model=${MODEL}`) =>
    call('POST', `/batch-jobs?${query}`, csv, { 'content-type': 'text/csv' });

  beforeAll(async () => {
    services = await startServices(uniqueNamespace('batch'), {
      real: false,
      registry: { REGISTRY_BATCH_MAX_ROWS: '200000' },
    });
    const imported = await importIris(services);
    irisRows = imported.json().version.rowCount;
    // An Iris-shaped champion registered the way the trainer does it (run, artifact, version, alias).
    const runId = randomUUID();
    await ok('POST', '/runs', { experiment: 'iris', runId, dataset: 'iris' });
    const bytes = Buffer.from(irisShapedModel());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await ok('POST', '/artifacts', bytes, {
      'content-type': 'application/octet-stream',
      'x-content-sha256': sha256,
    });
    const { version } = (await ok('POST', `/models/${MODEL}/versions`, { runId, sha256 })).json();
    await ok('PUT', `/models/${MODEL}/aliases/champion`, { version, reason: 'test' });
    // Chunks of one row: a job slow enough to be cancelled mid-way.
    trainer = await startTrainer(services, { TRAINER_BATCH_CHUNK_ROWS: '1' });
  }, 60_000);

  afterAll(async () => {
    await trainer?.close();
    await services?.close();
  });

  it('scores a dataset version: one output row per input row, with the prediction, probabilities and model version', async () => {
    const created = await ok('POST', '/batch-jobs', { model: MODEL, dataset: 'iris', datasetVersion: 'v1' });
    expect(created.statusCode).toBe(202);
    const { id, kind, model } = { ...created.json(), model: created.json().request.model };
    expect(kind).toBe('batch');
    expect(model).toMatchObject({ name: MODEL, version: 1, alias: 'champion' });
    const done = await waitForState(id, 'succeeded');
    expect(done.steps.map((s) => [s.step, s.state])).toEqual([
      ['resolve-input', 'succeeded'],
      ['score', 'succeeded'],
      ['store-output', 'succeeded'],
    ]);
    expect(done.datasetVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(done.output).toMatchObject({ attempt: 1, rows: irisRows, errorRows: 0 });

    const output = await ok('GET', `/batch-jobs/${id}/output.csv`);
    expect(output.headers['content-type']).toMatch(/^text\/csv/);
    const lines = output.body.trimEnd().split('\n');
    const header = csvCells(lines[0]);
    expect(header.slice(-7)).toEqual([
      'prediction',
      'probability_setosa',
      'probability_versicolor',
      'probability_virginica',
      'model_name',
      'model_version',
      'error',
    ]);
    expect(header).toEqual(expect.arrayContaining(IRIS_FEATURES));
    expect(lines).toHaveLength(irisRows + 1);
    const at = (name: string) => header.indexOf(name);
    for (const row of lines.slice(1).map(csvCells)) {
      expect(['setosa', 'versicolor', 'virginica']).toContain(row[at('prediction')]);
      expect(row[at('model_name')]).toBe(MODEL);
      expect(row[at('model_version')]).toBe('1');
      expect(row[at('error')]).toBe('');
    }
  });

  it('reports the rows of an upload that do not match the signature in their error column', async () => {
    const csv = `${IRIS_FEATURES.join(',')}\n5.1,3.5,1.4,0.2\n5.1,,1.4,0.2\n6.7,3.0,five,2.3\n`;
    const created = await upload(csv);
    expect(created.statusCode).toBe(202);
    const done = await waitForState(created.json().id, 'succeeded');
    expect(done.output).toMatchObject({ rows: 3, errorRows: 2 });
    const rows = (await ok('GET', `/batch-jobs/${done.id}/output.csv`)).body
      .trimEnd()
      .split('\n')
      .map(csvCells);
    expect(rows[1][4]).not.toBe('');
    expect(rows[2][rows[2].length - 1]).toBe("'sepal_width' is missing and the model requires it");
    expect(rows[2][4]).toBe('');
    expect(rows[3][rows[3].length - 1]).toBe("'petal_length' is not a number: 'five'");
  });

  it('sepal score uploads a file, waits for the job and saves its output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sepal-score-cli-'));
    const previous = process.env.SEPAL_REGISTRY_URL;
    process.env.SEPAL_REGISTRY_URL = services.registryUrl;
    try {
      await writeFile(
        join(dir, 'rows.csv'),
        `${IRIS_FEATURES.join(',')}\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n`,
      );
      const run = await sepal(['score', MODEL, '--file', join(dir, 'rows.csv'), '-o', join(dir, 'out.csv')]);
      expect(run).toMatchObject({ code: 0 });
      expect(run.out).toMatch(/: succeeded/);
      const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toMatch(/^5\.1,3\.5,1\.4,0\.2,(setosa|versicolor|virginica),.*,iris-batch,1,$/);
      const usage = await sepal(['score', MODEL]);
      expect(usage.code).not.toBe(0);
      expect(usage.err).toMatch(/name either --dataset or --file/);
    } finally {
      if (previous === undefined) delete process.env.SEPAL_REGISTRY_URL;
      else process.env.SEPAL_REGISTRY_URL = previous;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an upload over the row limit with a 413 naming it, and a model that does not exist with a 404', async () => {
    const big = `${IRIS_FEATURES.join(',')}\n${'5.1,3.5,1.4,0.2\n'.repeat(200_001)}`;
    const refused = await upload(big);
    expect(refused.statusCode).toBe(413);
    expect(refused.json().message).toMatch(/REGISTRY_BATCH_MAX_ROWS/);
    expect((await upload('a\n1\n', 'model=nope')).statusCode).toBe(404);
  });

  it('a job cancelled mid-way leaves no output registered as complete', async () => {
    const csv = `${IRIS_FEATURES.join(',')}\n${'5.1,3.5,1.4,0.2\n'.repeat(150_000)}`;
    const { id } = (await upload(csv)).json();
    await waitFor(
      async () => {
        const score = (await job(id)).steps.find((s) => s.step === 'score');
        return score?.state === 'running' && Number(score.summary.rowsScored ?? 0) > 0;
      },
      { timeoutMs: 60_000, intervalMs: 50, description: `batch job ${id} scoring` },
    );
    const cancelled = await call('DELETE', `/batch-jobs/${id}`);
    expect([200, 202]).toContain(cancelled.statusCode);
    const ended = await waitForState(id, 'cancelled');
    expect(ended.steps.find((s) => s.step === 'score')?.state).toBe('cancelled');
    expect(ended.steps.find((s) => s.step === 'store-output')?.state).not.toBe('succeeded');
    expect(ended.output).toBeNull();
    const output = await call('GET', `/batch-jobs/${id}/output.csv`);
    expect(output.statusCode).toBe(409);
    expect(output.json().message).toMatch(/cancelled: it has no complete output/);
  });
});
