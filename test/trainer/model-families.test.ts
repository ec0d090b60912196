/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JobStepId, JobView, ModelVersionView, PredictResponse, RunView } from '@sepal/contracts';
import { TERMINAL_JOB_STATES } from '@sepal/contracts';
import { createRng } from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { AMQP_URL, getJson, inject, runsOf, Services, startServices, startTrainer } from './support/services';

jest.setTimeout(240_000);

/** Debian's interpreter, with python3-onnx (scripts/ensure-test-tools.sh installs it). */
const SYSTEM_PYTHON = '/usr/bin/python3';

/** onnx.checker.check_model(full_check=True) on the bytes; answers the operators of the graph. */
function checkWithOnnx(bytes: Uint8Array): string[] {
  const directory = mkdtempSync(join(tmpdir(), 'sepal-families-onnx-'));
  try {
    const file = join(directory, 'model.onnx');
    writeFileSync(file, bytes);
    const script = [
      'import json, onnx, sys',
      'model = onnx.load(sys.argv[1])',
      'onnx.checker.check_model(model, full_check=True)',
      'print(json.dumps([n.op_type for n in model.graph.node]))',
    ].join('\n');
    const output = execFileSync(SYSTEM_PYTHON, ['-c', script, file], { encoding: 'utf8' });
    return JSON.parse(output) as string[];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A CSV with a categorical column and empty and NA cells; the price depends on the size and the colour. */
function pricesCsv(): string {
  const rng = createRng(11);
  const lines = ['size,colour,weight,price'];
  for (let i = 0; i < 300; i++) {
    const size = 10 * rng();
    const colour = ['red', 'green', 'blue'][Math.floor(rng() * 3)];
    const weight = 5 * rng();
    const price = 3 + 0.5 * size + (colour === 'red' ? 2 : 0) + 0.2 * rng();
    const cell = (text: string, missing: string) => (rng() < 0.08 ? missing : text);
    lines.push(
      [cell(size.toFixed(3), ''), cell(colour, ''), cell(weight.toFixed(3), 'NA'), price.toFixed(3)].join(
        ',',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/*
 * Tree families through the whole pipeline, on the real services and on the embedded adapters: a random forest and a
 * gradient-boosted ensemble are trained in the trainer's worker threads (the forest in parts across two workers),
 * exported with ai.onnx.ml operators, checked by the reference checker, registered, promoted and served by the
 * gateway; and a grid spanning the three families selects its model on the validation rows.
 */
describe.each(['real services', 'embedded adapters'] as const)('model families on %s', (mode) => {
  const real = mode === 'real services';
  let services: Services;
  let trainer: NestFastifyApplication;
  let gateway: NestFastifyApplication | undefined;
  let pricesGateway: NestFastifyApplication | undefined;
  let namespace: string;

  /** Starts a job and waits for its durable record (the registry's, forwarded by the trainer) to end. */
  const train = async (body: Record<string, unknown>): Promise<JobView> => {
    const response = await inject(trainer, 'POST', '/train', body);
    expect(response.statusCode).toBe(202);
    const { jobId } = response.json() as { jobId: string };
    let job: JobView | undefined;
    await waitFor(
      async () => {
        const answer = await inject(trainer, 'GET', `/jobs/${jobId}`);
        if (answer.statusCode !== 200) return false; // not yet recorded by the registry
        job = answer.json() as JobView;
        return TERMINAL_JOB_STATES.includes(job.state);
      },
      { timeoutMs: 200_000, intervalMs: 250, description: `job ${jobId} done` },
    );
    expect(job?.error ?? null).toBeNull();
    expect(job?.state).toBe('succeeded');
    return job as JobView;
  };
  const summaryOf = (job: JobView, step: JobStepId) => job.steps.find((s) => s.step === step)?.summary ?? {};

  const runsOfJob = async (correlationId: string, count: number): Promise<RunView[]> => {
    let runs: RunView[] = [];
    await waitFor(
      async () => {
        runs = await runsOf(services.registryUrl, `correlation_id = '${correlationId}'`);
        return runs.length === count && runs.every((run) => run.status !== 'running');
      },
      { timeoutMs: 30_000, description: `${count} runs recorded` },
    );
    return runs;
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('families');
    services = await startServices(namespace, { real });
    for (const dataset of ['iris', 'wine-quality-red']) {
      const imported = await inject(services.data, 'POST', `/datasets/${dataset}/import`, {});
      expect(imported.statusCode).toBe(201);
    }
    trainer = await startTrainer(services, {
      TRAINER_WORKERS: '2',
      // Every new version that clears the floor is promoted: the boosted model replaces the forest.
      GATE_MIN_IMPROVEMENT: '-1',
      GATE_MIN_ACCURACY: '0.8',
      // One validation carve: these tests read a trial's per-round history against its own early stopping
      // (cross-validated selection is covered by the pipeline and sweep specs).
      TRAIN_CV_MAX_ROWS: '0',
    });
  }, 120_000);

  afterAll(async () => {
    await pricesGateway?.close();
    await gateway?.close();
    await trainer?.close();
    await services?.close();
  });

  const predict = async () => {
    const response = await inject(gateway as NestFastifyApplication, 'POST', '/predict', {
      instances: [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
      ],
    });
    expect(response.statusCode).toBe(200);
    return response.json() as PredictResponse;
  };

  it('trains, exports, checks, registers, promotes and serves a random forest, with its feature importance', async () => {
    const job = await train({
      dataset: 'iris',
      modelName: 'IrisTrees',
      grid: { model: ['forest'], trees: [60] },
    });
    expect(summaryOf(job, 'train-trials').trials).toBe(1);
    expect(summaryOf(job, 'gate').alias).toBe('champion');
    const runs = await runsOfJob(job.correlationId, 2);
    const parent = runs.find((run) => run.parentRunId === null) as RunView;
    const child = runs.find((run) => run.parentRunId !== null) as RunView;
    expect(child.params).toMatchObject({ model: 'forest', trees: 60, featureFraction: 'sqrt' });
    expect(child.metrics.training_seconds).toBeGreaterThan(0);
    expect(child.metrics.val_accuracy).toBeGreaterThan(0.8);
    expect(parent.metrics.test_accuracy).toBeGreaterThanOrEqual(0.9);
    expect(parent.metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
    expect(parent.metrics.onnx_parity_label_mismatches).toBe(0);
    // The run view lists the importance, largest first, summing to 1; on Iris the petals carry the split gain.
    for (const run of [child, await getJson<RunView>(`${services.registryUrl}/runs/${parent.id}`)]) {
      const importance = run.featureImportance ?? [];
      expect(importance.map((entry) => entry.feature).sort()).toEqual([
        'petal_length',
        'petal_width',
        'sepal_length',
        'sepal_width',
      ]);
      expect(importance.reduce((sum, entry) => sum + entry.gain, 0)).toBeCloseTo(1, 6);
      expect(importance[0].feature).toMatch(/^petal_/);
    }

    const version = await getJson<ModelVersionView>(
      `${services.registryUrl}/models/IrisTrees/aliases/champion`,
    );
    expect(version.version).toBe(1);
    const bytes = new Uint8Array(
      await (await fetch(`${services.registryUrl}/artifacts/${version.sha256}`)).arrayBuffer(),
    );
    // The same preprocessing as a dense model's in front (here: missing numbers imputed), on the raw scale.
    expect(checkWithOnnx(bytes)).toEqual(['Imputer', 'Cast', 'TreeEnsembleClassifier', 'ArgMax']);

    gateway = await startInferenceApp(
      InferenceConfig.load({
        AMQP_URL: real ? AMQP_URL : undefined,
        SEPAL_NAMESPACE: namespace,
        REGISTRY_URL: services.registryUrl,
        MODEL_NAME: 'IrisTrees',
        MODEL_RETRY_INTERVAL_MS: '100',
        MODEL_SYNC_INTERVAL_MS: '0',
        LOG_LEVEL: 'error',
      }),
      { listen: false },
    );
    await waitFor(
      async () =>
        (await inject(gateway!, 'POST', '/predict', { features: [5.1, 3.5, 1.4, 0.2] })).statusCode === 200,
      { timeoutMs: 30_000, description: 'the gateway to load the forest' },
    );
    const served = await predict();
    expect(served.model).toMatchObject({ name: 'IrisTrees', version: 1, sha256: version.sha256 });
    expect(served.predictions.map((row) => ('class' in row ? row.class : null))).toEqual([
      'Iris-setosa',
      'Iris-virginica',
    ]);
  });

  it('trains a gradient-boosted model with its metrics per round, and the gateway swaps to it', async () => {
    const job = await train({
      dataset: 'iris',
      modelName: 'IrisTrees',
      grid: { model: ['gbdt'], learningRate: [0.1] },
      params: { rounds: 200, minSamplesLeaf: 5 },
    });
    expect(summaryOf(job, 'gate').alias).toBe('champion');
    expect(job.modelVersion).toBe(2);
    const runs = await runsOfJob(job.correlationId, 2);
    const parent = runs.find((run) => run.parentRunId === null) as RunView;
    const child = runs.find((run) => run.parentRunId !== null) as RunView;
    expect(child.params).toMatchObject({ model: 'gbdt', rounds: 200, learningRate: 0.1 });
    expect(parent.metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
    expect(parent.metrics.onnx_parity_label_mismatches).toBe(0);
    // One validation point per boosting round trained, at step = round; early stopping ends before 200.
    const history = await getJson<{ step: number; value: number }[]>(
      `${services.registryUrl}/runs/${child.id}/metrics/val_loss`,
    );
    // The run's final metrics (the kept round's) are logged one step after the last round, so a round applied after
    // the finish cannot become the latest value.
    const rounds = child.metrics.epochs_run;
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i + 1));
    expect(history.at(-1)?.value).toBe(child.metrics.val_loss);
    expect(child.metrics.epochs_run).toBeLessThan(200);
    expect(child.metrics.best_epoch).toBeLessThanOrEqual(child.metrics.epochs_run);
    expect((child.featureImportance ?? []).length).toBe(4);

    const version = await getJson<ModelVersionView>(`${services.registryUrl}/models/IrisTrees/versions/2`);
    const bytes = new Uint8Array(
      await (await fetch(`${services.registryUrl}/artifacts/${version.sha256}`)).arrayBuffer(),
    );
    // The same preprocessing as a dense model's in front (here: missing numbers imputed), on the raw scale.
    expect(checkWithOnnx(bytes)).toEqual(['Imputer', 'Cast', 'TreeEnsembleClassifier', 'ArgMax']);
    await waitFor(async () => (await predict()).model.version === 2, {
      timeoutMs: 30_000,
      description: 'the gateway to serve the boosted model',
    });
    const served = await predict();
    expect(served.model.sha256).toBe(version.sha256);
    expect(served.predictions.map((row) => ('class' in row ? row.class : null))).toEqual([
      'Iris-setosa',
      'Iris-virginica',
    ]);
  });

  it('searches a grid across the three families and selects on the validation rows', async () => {
    const job = await train({
      dataset: 'wine-quality-red',
      modelName: 'WineRedMixed',
      grid: [
        { model: ['dense'], hiddenUnits: [8] },
        { model: ['forest'], trees: [100] },
        { model: ['gbdt'], learningRate: [0.1] },
      ],
      params: { epochs: 30 },
    });
    expect(summaryOf(job, 'train-trials')).toMatchObject({ trials: 3, finished: 3 });
    const runs = await runsOfJob(job.correlationId, 4);
    const children = runs
      .filter((run) => run.parentRunId !== null)
      .sort((a, b) => Number(a.tags.trial) - Number(b.tags.trial));
    expect(children.map((child) => child.params.model)).toEqual(['dense', 'forest', 'gbdt']);
    const parent = runs.find((run) => run.parentRunId === null) as RunView;
    const best = Math.max(...children.map((child) => child.metrics.val_accuracy));
    const selected = children[Number(summaryOf(job, 'select').selected_trial) - 1];
    // The selected trial is the best on validation; the test split is scored once, for it alone.
    expect(selected.metrics.val_accuracy).toBe(best);
    expect(parent.metrics.val_accuracy).toBe(best);
    expect(JSON.parse(parent.tags.selected_params)).toMatchObject({ model: selected.params.model });
    expect(children.filter((child) => child.metrics.test_accuracy !== undefined)).toHaveLength(0);
    console.log(
      `[${mode}] wine red, validation accuracy by family: ` +
        children.map((child) => `${child.params.model} ${child.metrics.val_accuracy.toFixed(3)}`).join(', ') +
        `; selected ${selected.params.model}, test accuracy ${parent.metrics.test_accuracy.toFixed(3)}`,
    );
  });

  it('trains forest and gbdt regressors on a CSV with categorical and missing cells; the gateway answers {"value": x} from raw cells', async () => {
    const imported = await inject(
      services.data,
      'POST',
      '/datasets/prices/import?target=price&task=regression&features=size,colour,weight',
      pricesCsv(),
      { 'content-type': 'text/csv' },
    );
    expect(imported.statusCode).toBe(201);
    const figures: string[] = [];
    for (const [model, grid] of [
      ['PricesForest', { model: ['forest'], trees: [60] }],
      ['PricesGbdt', { model: ['gbdt'], learningRate: [0.1] }],
    ] as const) {
      const job = await train({ dataset: 'prices', modelName: model, grid });
      expect(summaryOf(job, 'gate').alias).toBe('champion');
      const runs = await runsOfJob(job.correlationId, 2);
      const parent = runs.find((run) => run.parentRunId === null) as RunView;
      const child = runs.find((run) => run.parentRunId !== null) as RunView;
      expect(child.params).toMatchObject({ model: grid.model[0] });
      // Selection on the validation RMSE, with MAE, R² and the share within the tolerance; the test split once.
      for (const key of ['val_rmse', 'val_mae', 'val_r2', 'val_within_tolerance']) {
        expect(Number.isFinite(child.metrics[key])).toBe(true);
        expect(parent.metrics[key]).toBe(child.metrics[key]);
      }
      expect(child.metrics).not.toHaveProperty('val_accuracy');
      expect(parent.metrics.test_r2).toBeGreaterThan(0.8);
      expect(parent.metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
      // Importance per column the client sends: the colour's one-hot block summed.
      expect(
        Object.keys(child.metrics)
          .filter((key) => key.startsWith('importance_'))
          .sort(),
      ).toEqual(['importance_colour', 'importance_size', 'importance_weight']);
      const version = await getJson<ModelVersionView>(
        `${services.registryUrl}/models/${model}/aliases/champion`,
      );
      const bytes = new Uint8Array(
        await (await fetch(`${services.registryUrl}/artifacts/${version.sha256}`)).arrayBuffer(),
      );
      expect(checkWithOnnx(bytes)).toEqual([
        'Imputer',
        'Gather',
        'OneHotEncoder',
        'Concat',
        'Cast',
        'TreeEnsembleRegressor',
      ]);
      figures.push(
        `${grid.model[0]} test RMSE ${parent.metrics.test_rmse.toFixed(3)} (R² ${parent.metrics.test_r2.toFixed(3)})`,
      );
    }
    console.log(`[${mode}] prices (categorical, missing cells): ${figures.join(', ')}`);

    pricesGateway = await startInferenceApp(
      InferenceConfig.load({
        AMQP_URL: real ? AMQP_URL : undefined,
        SEPAL_NAMESPACE: namespace,
        REGISTRY_URL: services.registryUrl,
        MODEL_NAME: 'PricesForest',
        SERVE_MODELS: 'PricesForest,PricesGbdt',
        MODEL_RETRY_INTERVAL_MS: '100',
        MODEL_SYNC_INTERVAL_MS: '0',
        LOG_LEVEL: 'error',
      }),
      { listen: false },
    );
    // Raw cells as a client sends them: a category string, null for a missing number or category, an unseen colour.
    const instances = [
      [2, 'red', 1],
      [8, 'green', null],
      [null, 'blue', 3],
      [5, null, null],
      [7, 'purple', 2],
    ];
    for (const model of ['PricesForest', 'PricesGbdt']) {
      let answer: PredictResponse | undefined;
      await waitFor(
        async () => {
          const response = await inject(pricesGateway!, 'POST', `/predict/${model}`, { instances });
          if (response.statusCode === 200) answer = response.json() as PredictResponse;
          return answer !== undefined;
        },
        { timeoutMs: 30_000, description: `the gateway to load ${model}` },
      );
      const values = answer!.predictions.map((row) => ('value' in row ? row.value : NaN));
      expect(answer!.model.name).toBe(model);
      expect(values).toHaveLength(instances.length);
      // size 2, red: about 3 + 1 + 2 = 6; size 8, green: about 7.
      expect(values[0]).toBeGreaterThan(5);
      expect(values[0]).toBeLessThan(7);
      expect(values[1]).toBeGreaterThan(6);
      expect(values[1]).toBeLessThan(8);
      expect(values.every(Number.isFinite)).toBe(true);
    }
  });
});
