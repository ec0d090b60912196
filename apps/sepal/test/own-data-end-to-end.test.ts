/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JobView, ModelVersionView } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createRng } from '@sepal/ml';
import { NO_CROSS_VALIDATION, startEmbeddedSystem, type EmbeddedSystem } from '@sepal/testing';
import { launchSystem, type LaunchedSystem } from '../src/up/launcher';

/** A CSV of our own: a categorical column, empty and NA cells, a numeric target and a class target. */
function ownCsv(): string {
  const rng = createRng(9);
  const lines = ['size,colour,weight,price,grade'];
  for (let i = 0; i < 300; i++) {
    const size = 10 * rng();
    const colour = ['red', 'green', 'blue'][Math.floor(rng() * 3)];
    const weight = 5 * rng();
    const price = 3 + 0.5 * size + (colour === 'red' ? 2 : 0) + 0.2 * rng();
    const grade = colour === 'red' ? 'premium' : size > 5 ? 'large' : 'small';
    const cell = (text: string, missing: string) => (rng() < 0.08 ? missing : text);
    lines.push(
      [
        cell(size.toFixed(3), ''),
        cell(colour, ''),
        cell(weight.toFixed(3), 'NA'),
        price.toFixed(3),
        grade,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/*
 * Your own data through the embedded system (`sepal up`): a CSV with a categorical column and missing cells is imported
 * twice (as a regression on `price`, as a classification on `grade`), trained, exported with its preprocessing in the
 * graph and scored from raw strings and nulls; Wine Quality white is imported as a regression, trained, promoted and
 * served by the gateway, which answers {"value": x} per row.
 */
describe('own data, classification and regression, end to end (embedded)', () => {
  let embedded: EmbeddedSystem<LaunchedSystem>;
  let system: LaunchedSystem;
  const url = (name: string) => system.apps.find((a) => a.name === name)!.url;
  const json = async <T>(response: Response, status: number): Promise<T> => {
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status });
    return JSON.parse(text) as T;
  };

  async function train(dataset: string, params: Record<string, unknown>): Promise<JobView> {
    const accepted = await fetch(`${url('trainer')}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: JSON.stringify({ dataset, grid: { learningRate: [0.01] }, params }),
    });
    const { jobId } = await json<{ jobId: string }>(accepted, 202);
    const deadline = Date.now() + 180_000;
    let last = '';
    while (Date.now() < deadline) {
      const response = await fetch(`${url('registry')}/jobs/${jobId}`);
      const text = await response.text();
      last = `${response.status} ${text.slice(0, 2000)}`;
      if (response.status === 200) {
        const job = JSON.parse(text) as JobView;
        if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`job ${jobId} of ${dataset} did not end in 180 s; last answer: ${last}`);
  }

  /** The CSV through the data app's own HTTP stack (Fastify inject), as the data service's tests send it. */
  const injectCsv = async (path: string, csv: string) => {
    const data = system.apps.find((a) => a.name === 'data')!.app as NestFastifyApplication;
    const response = await data
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url: path,
        payload: csv,
        headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' },
      });
    return new Response(response.body, { status: response.statusCode });
  };

  const latest = async (model: string) => {
    const view = await json<{ versions: ModelVersionView[] }>(
      await fetch(`${url('registry')}/models/${model}`),
      200,
    );
    return view.versions.at(-1)!;
  };

  beforeAll(async () => {
    embedded = await startEmbeddedSystem(launchSystem, {
      name: 'owndata',
      dataDir: join(__dirname, '../../../data'),
      env: { MODEL_NAME: 'WineQualityWhiteModel', TRAINER_WORKERS: '1', ...NO_CROSS_VALIDATION },
    });
    system = embedded.system;
  }, 240_000);

  afterAll(async () => {
    await embedded?.close();
    await closeEmbeddedDatabases();
  });

  it('imports a CSV with a categorical column and missing cells, trains it as regression and classification, and the exports score raw cells', async () => {
    const csv = ownCsv();
    for (const [name, target, task] of [
      ['prices', 'price', 'regression'],
      ['grades', 'grade', 'classification'],
    ] as const) {
      const imported = await injectCsv(
        `/datasets/${name}/import?target=${target}&task=${task}&features=size,colour,weight`,
        csv,
      );
      const { version } = await json<{ version: { schema: { task: string; columns?: { type: string }[] } } }>(
        imported,
        201,
      );
      expect(version.schema.task).toBe(task);
      expect(version.schema.columns?.map((c) => c.type)).toEqual(['numeric', 'categorical', 'numeric']);
      const job = await train(name, { epochs: 60 });
      expect(job.state).toBe('succeeded');
    }

    const prices = await latest('PricesModel');
    expect(prices.metrics.test_r2).toBeGreaterThan(0.5);
    expect(prices.metrics).toHaveProperty('test_within_tolerance');
    const grades = await latest('GradesModel');
    expect(grades.metrics.test_accuracy).toBeGreaterThan(0.7);

    const rows: [number, string, number][] = [
      [2, 'red', 1],
      [Number.NaN, 'green', 2],
      [8, 'purple', Number.NaN],
    ];
    for (const version of [prices, grades]) {
      const bytes = new Uint8Array(await (await fetch(version.artifactUrl)).arrayBuffer());
      const session = await InferenceSession.create(bytes);
      try {
        expect(session.inputNames).toEqual(['features', 'categorical']);
        const outputs = await session.run({
          features: new Tensor('float32', Float32Array.from(rows.flatMap(([a, , c]) => [a, c])), [3, 2]),
          categorical: new Tensor(
            'string',
            rows.map(([, b]) => b),
            [3, 1],
          ),
        });
        const first = version === prices ? outputs.value : outputs.probabilities;
        expect(Array.from(first.data as Float32Array).every(Number.isFinite)).toBe(true);
      } finally {
        await session.release();
      }
    }
  }, 300_000);

  it('trains Wine Quality white as a regression and serves {"value": x} per row; a feature never missing in training is required (422)', async () => {
    const imported = await fetch(`${url('data')}/datasets/wine-quality-white/import?task=regression`, {
      method: 'POST',
      headers: { 'x-sepal-client': '1' },
    });
    const { version } = await json<{ version: { schema: { task: string; labels: string[] } } }>(
      imported,
      201,
    );
    expect(version.schema).toMatchObject({ task: 'regression', labels: [] });
    const job = await train('wine-quality-white', { epochs: 30 });
    expect(job.state).toBe('succeeded');
    const registered = await latest('WineQualityWhiteModel');
    for (const key of [
      'test_rmse',
      'test_mae',
      'test_r2',
      'test_within_tolerance',
      'val_rmse',
      'val_mae',
      'val_r2',
    ]) {
      expect(Number.isFinite(registered.metrics[key])).toBe(true);
    }
    expect(registered.metrics.test_rmse).toBeLessThan(0.9);

    let answer: { predictions: { value: number }[] } | undefined;
    const row = [7, 0.27, 0.36, 20.7, 0.045, 45, 170, 1.001, 3, 0.45, null];
    const predict = (instances: unknown[]) =>
      fetch(`${url('inference')}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
        body: JSON.stringify({ instances }),
      });
    for (let attempt = 0; attempt < 100 && answer === undefined; attempt++) {
      const response = await predict([
        row.map((v) => (v === null ? 10 : v)),
        row.map((v) => (v === null ? 11 : v)),
      ]);
      if (response.status === 200) answer = (await response.json()) as typeof answer;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Wine Quality has no missing cell: every feature is required, a null one is refused naming it.
    const missing = await predict([row]);
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { message: string }).message).toMatch(
      /missing required feature\(s\) alcohol/,
    );
    expect(answer?.predictions).toHaveLength(2);
    for (const { value } of answer!.predictions) {
      expect(value).toBeGreaterThan(3);
      expect(value).toBeLessThan(9);
    }
  }, 300_000);
});
