/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventNames, JobStepId, JobView, ModelVersionView, RunView } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { readOnnxMetadata } from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { firstAttemptRunId } from '../../apps/trainer/src';
import {
  getJson,
  importIris,
  inject,
  runsOf,
  Services,
  startServices,
  startTrainer,
} from './support/services';

jest.setTimeout(120_000);

/** Small enough to stay fast on two cores, good enough for Iris. */
/**
 * Real services: the default grid (a forest, boosting at 2 learning rates, the dense 3 x 3 grid); embedded: a small
 * dense one, to stay fast.
 */
const SMALL_GRID = { learningRate: [0.01, 0.05] };
const SMALL_PARAMS = { epochs: 60, hiddenUnits: 8 };
/** A deliberately weak retrain: it cannot beat the champion. */
const WEAK = { grid: { hiddenUnits: [2] }, params: { epochs: 2, learningRate: 0.001 } };

describe.each(['real services', 'embedded adapters'] as const)('trainer on %s', (mode) => {
  const real = mode === 'real services';
  let services: Services;
  let trainer: NestFastifyApplication;
  let bus: EventBus;
  let namespace: string;

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    inject(trainer, method, url, payload);

  /** The job's durable record, read through the trainer (which forwards the registry's). */
  const waitForJob = async (jobId: string, state: JobView['state']) => {
    await waitFor(async () => (await http('GET', `/jobs/${jobId}`)).json().state === state, {
      timeoutMs: 100_000,
      intervalMs: 250,
      description: `job ${jobId} ${state}`,
    });
    return (await http('GET', `/jobs/${jobId}`)).json() as JobView;
  };
  const summaryOf = (job: JobView, step: JobStepId) => job.steps.find((s) => s.step === step)?.summary ?? {};

  beforeAll(async () => {
    namespace = uniqueNamespace('trainer');
    services = await startServices(namespace, { real });
    const imported = await importIris(services);
    expect(imported.statusCode).toBe(201);
    trainer = await startTrainer(services, {
      REGISTRY_RETRY_MS: '20000',
    });
    bus = trainer.get(EventBus);
  }, 90_000);

  afterAll(async () => {
    await trainer?.close();
    await services?.close();
  });

  it('reports the broker connection in its readiness check', async () => {
    const ready = await http('GET', '/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ broker: { status: 'up' } });
  });

  let first: { jobId: string; correlationId: string };

  it('trains a grid on Iris: child runs per trial, an ONNX model that passes parity, registered and promoted', async () => {
    const request = real ? {} : { grid: SMALL_GRID, params: SMALL_PARAMS };
    const response = await http('POST', '/train', { dataset: 'iris', version: 'v1', ...request });
    expect(response.statusCode).toBe(202);
    first = response.json();
    const job = await waitForJob(first.jobId, 'succeeded');
    const trials = real ? 12 : 2;
    expect(summaryOf(job, 'train-trials').trials).toBe(trials);
    expect(job.modelVersion).toBe(1);
    expect(summaryOf(job, 'promote').alias).toBe('champion');

    const { registryUrl } = services;
    let runs: RunView[] = [];
    await waitFor(
      async () => {
        runs = await runsOf(registryUrl, `correlation_id = '${first.correlationId}'`);
        return runs.length === trials + 1 && runs.every((run) => run.status === 'finished');
      },
      { timeoutMs: 20_000, description: 'three finished runs in the registry' },
    );
    const parent = runs.find((run) => run.parentRunId === null) as RunView;
    const children = runs.filter((run) => run.parentRunId === parent.id);
    expect(parent.id).toBe(firstAttemptRunId(first.jobId));
    expect(parent.backend).toMatch(/^(tensorflow|wasm|cpu)$/);
    expect(parent.childrenCount).toBe(trials);
    expect(parent.tags).toMatchObject({
      gate_decision: 'promoted',
      model_name: 'IrisModel',
      reason: 'manual',
    });
    // The bar: the selected model reaches 0.93 on the data service's 30-row Iris test split.
    expect(parent.metrics.test_accuracy).toBeGreaterThanOrEqual(0.93);
    expect(parent.metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
    expect(parent.metrics.onnx_parity_label_mismatches).toBe(0);
    expect(parent.metrics.test_macro_f1).toBeGreaterThan(0.9);
    expect(parent.metrics['test_precision_Iris_setosa']).toBeDefined();
    expect(parent.metrics['test_recall_Iris_virginica']).toBeDefined();
    expect(parent.metrics.test_log_loss).toBeGreaterThan(0);
    const confusion = JSON.parse(parent.tags.confusion_matrix);
    expect(confusion.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(30);
    const dense = children.filter((child) => child.params.model === 'dense');
    expect(dense).toHaveLength(real ? 9 : 2);
    expect(new Set(dense.map((child) => child.params.learningRate)).size).toBe(real ? 3 : 2);
    if (real) {
      expect(children.map((child) => child.params.model).sort()).toEqual(
        ['forest', 'gbdt', 'gbdt', ...Array(9).fill('dense')].sort(),
      );
    }
    for (const child of dense) {
      expect(child.metrics.val_accuracy).toBeGreaterThanOrEqual(0.75);
      const history = await getJson<{ step: number }[]>(`${registryUrl}/runs/${child.id}/metrics/val_loss`);
      expect(history.length).toBeGreaterThanOrEqual(Math.min(child.metrics.epochs_run, 60));
    }
    console.log(
      `[${mode}] test_accuracy ${parent.metrics.test_accuracy}, macro-F1 ${parent.metrics.test_macro_f1}, ` +
        `parity max |diff| ${parent.metrics.onnx_parity_max_abs_diff}, backend ${parent.backend}`,
    );

    const version = await getJson<ModelVersionView>(`${registryUrl}/models/IrisModel/versions/1`);
    expect(version.runId).toBe(parent.id);
    expect(version.signature).toMatchObject({ inputs: [{ name: 'features', shape: [-1, 4] }] });
    const champion = await getJson<ModelVersionView>(`${registryUrl}/models/IrisModel/aliases/champion`);
    expect(champion.version).toBe(1);

    const artifact = new Uint8Array(
      await (await fetch(`${registryUrl}/artifacts/${version.sha256}`)).arrayBuffer(),
    );
    const metadata = readOnnxMetadata(artifact);
    expect(metadata).toMatchObject({ model_name: 'IrisModel', run_id: parent.id, dataset: 'iris' });
    expect(JSON.parse(metadata.label_map)).toEqual(['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']);
    expect(JSON.parse(metadata.feature_names)).toEqual([
      'sepal_length',
      'sepal_width',
      'petal_length',
      'petal_width',
    ]);
    const reference = JSON.parse(metadata.feature_reference) as { edges: number[]; proportions: number[] }[];
    expect(reference).toHaveLength(4);
    for (const feature of reference) {
      expect(feature.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });

  it('keeps the champion when a retrain does not beat it, and records why', async () => {
    const response = await http('POST', '/train', { dataset: 'iris', ...WEAK });
    const { jobId, correlationId } = response.json();
    const job = await waitForJob(jobId, 'succeeded');
    expect(job.modelVersion).toBe(2);
    expect(summaryOf(job, 'promote').alias).toBe('challenger');
    await waitFor(async () => {
      const [parent] = (await runsOf(services.registryUrl, `correlation_id = '${correlationId}'`)).filter(
        (run) => run.parentRunId === null && run.status === 'finished',
      );
      return /does not beat the champion|below the floor/.test(parent?.tags.gate_reason ?? '');
    });
    const challenger = await getJson<ModelVersionView>(
      `${services.registryUrl}/models/IrisModel/aliases/challenger`,
    );
    expect(challenger.version).toBe(2);
    expect(
      (await getJson<ModelVersionView>(`${services.registryUrl}/models/IrisModel/aliases/champion`)).version,
    ).toBe(1);
  });

  it('trains a message published twice once: the copy is acknowledged as a duplicate', async () => {
    const duplicates = async () =>
      Number(
        /sepal_training_runs_total\{status="duplicate"\} (\d+)/.exec(
          (await http('GET', '/metrics')).body,
        )?.[1] ?? 0,
      );
    const before = await duplicates();
    const runsBefore = await runsOf(services.registryUrl, `tags.job_id = '${first.jobId}'`);
    await bus.publish(EventNames.TrainRequested, { dataset: 'iris' }, { messageId: first.jobId });
    await waitFor(async () => (await duplicates()) === before + 1, {
      timeoutMs: 20_000,
      description: 'the copy to be recognised',
    });
    expect(await runsOf(services.registryUrl, `tags.job_id = '${first.jobId}'`)).toHaveLength(
      runsBefore.length,
    );
    expect(
      (await getJson<{ versions: unknown[] }>(`${services.registryUrl}/models/IrisModel`)).versions,
    ).toHaveLength(2);
  });

  it('refuses an invalid grid over REST with every problem named', async () => {
    const response = await http('POST', '/train', {
      dataset: 'iris',
      grid: { learningrate: [0.1], hiddenUnits: [] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(
      /unknown parameter "learningrate" \(did you mean learningRate\?\).*hiddenUnits: the list of values is empty/,
    );
  });

  it('dead-letters invalid jobs with the reason recorded on their failed run, and keeps consuming', async () => {
    const invalid = await bus.publish(EventNames.TrainRequested, {
      dataset: 'iris',
      grid: { hiddenUnits: ['many'], dropRate: [0.5] },
    });
    const missing = await bus.publish(EventNames.TrainRequested, { dataset: 'no-such-dataset' });
    await waitFor(async () => (await bus.deadLetterCount('trainer.jobs')) === 2, {
      timeoutMs: 30_000,
      description: 'two dead letters',
    });
    const dead = await bus.deadLetters('trainer.jobs');
    const reasonOf = (id: string) => dead.find((letter) => letter.envelope?.messageId === id)?.error ?? '';
    expect(reasonOf(invalid)).toMatch(
      /hiddenUnits: "many" is a string, expected a number.*unknown parameter "dropRate"/,
    );
    expect(reasonOf(missing)).toMatch(/dataset 'no-such-dataset' not found/);
    expect(dead.every((letter) => letter.attempts === 1)).toBe(true);
    await waitFor(async () => {
      const run = await getJson<RunView>(`${services.registryUrl}/runs/${firstAttemptRunId(invalid)}`);
      return run.status === 'failed' && /unknown parameter "dropRate"/.test(run.error ?? '');
    });
    await waitFor(async () => {
      const run = await getJson<RunView>(`${services.registryUrl}/runs/${firstAttemptRunId(missing)}`);
      return run.status === 'failed' && /dataset 'no-such-dataset' not found/.test(run.error ?? '');
    });

    // Still consuming: a valid job after the rejected ones completes.
    const next = await http('POST', '/train', {
      dataset: 'iris',
      grid: { hiddenUnits: [8] },
      params: { epochs: 5 },
    });
    await waitForJob(next.json().jobId, 'succeeded');
  });
});
