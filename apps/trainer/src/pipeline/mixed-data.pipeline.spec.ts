/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { createHash, randomUUID } from 'node:crypto';
import { EventNames, parseOnnxMetadata, type FeatureCell, type TrainRequested } from '@sepal/contracts';
import { createEnvelope } from '@sepal/messaging';
import { createRng, readOnnxMetadata } from '@sepal/ml';
import { runOnnxModel } from '../evaluation/run-onnx';
import { JobStatusStore } from '../jobs/job-status.service';
import { ParentRun } from '../jobs/parent-run';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import {
  datasetVersion,
  InMemoryDatasets,
  InMemoryRegistry,
  RecordingEventBus,
  type StoredDataset,
} from '../../test/support/fakes';
import { RecordingObserver } from '../../test/support/recording-observer';
import { TrainerConfig } from '../trainer.config';
import { InProcessTrialTrainer } from '../workers/trial-trainer.service';
import { TRAINER_STEPS } from './step-runner';
import { TrainingPipeline } from './training-pipeline.service';

jest.setTimeout(120_000);

const COLOURS = ['red', 'green', 'blue'];
const COLUMNS = [
  { name: 'size', type: 'numeric' as const },
  { name: 'colour', type: 'categorical' as const, encoding: 'one-hot' as const },
  { name: 'weight', type: 'numeric' as const },
];

/** Rows whose class and target depend on a numeric and a categorical column, with about 10% missing cells. */
function mixedRows(seed: number, count: number) {
  const rng = createRng(seed);
  const rows: { cells: FeatureCell[]; value: number; label: number }[] = [];
  for (let i = 0; i < count; i++) {
    const size = 10 * rng();
    const colour = COLOURS[Math.floor(rng() * 3)];
    const weight = 5 * rng();
    const value = 3 + 0.5 * size + (colour === 'red' ? 2 : 0) + 0.3 * rng();
    const label = colour === 'red' ? 2 : size > 5 ? 1 : 0;
    rows.push({
      cells: [rng() < 0.1 ? null : size, rng() < 0.1 ? null : colour, rng() < 0.1 ? null : weight],
      value,
      label,
    });
  }
  return rows;
}

function mixedDataset(task: 'classification' | 'regression'): StoredDataset {
  const rows = mixedRows(task === 'regression' ? 2 : 1, 300);
  const pick = (part: typeof rows) => ({
    features: part.map((row) => row.cells),
    labels: part.map((row) => (task === 'regression' ? row.value : row.label)),
  });
  const version = datasetVersion({
    id: createHash('sha256').update(`mixed ${task}`).digest('hex'),
    seq: 1,
    features: COLUMNS.map((c) => c.name),
    labels: task === 'regression' ? [] : ['small', 'large', 'red'],
    rows: rows.length,
  });
  version.dataset = 'mixed';
  version.schema = { ...version.schema, task, target: 'y', columns: COLUMNS };
  return { version, train: pick(rows.slice(0, 240)), test: pick(rows.slice(240)) };
}

async function runJob(
  dataset: StoredDataset,
  registry: InMemoryRegistry,
  job: Pick<TrainRequested, 'grid' | 'params'> = { grid: { learningRate: [0.05] }, params: { epochs: 40 } },
) {
  const config = TrainerConfig.load({ GATE_MIN_ACCURACY: '0', LOG_LEVEL: 'warn' });
  const bus = new RecordingEventBus();
  const payload: Partial<TrainRequested> & { dataset: string } = {
    dataset: 'mixed',
    reason: 'manual',
    ...job,
  };
  const envelope = createEnvelope(EventNames.TrainRequested, payload);
  const parentRunId = randomUUID();
  const observer = new RecordingObserver();
  const status = new JobStatusStore();
  const pipeline = new TrainingPipeline(
    config,
    new InMemoryDatasets({ mixed: dataset }),
    registry,
    new TrainerMetrics(),
    new InProcessTrialTrainer(),
  );
  const summary = await pipeline.run(
    { job: envelope.payload, jobId: envelope.messageId, parentRunId, seed: 3 },
    {
      observer,
      openRun: new ParentRun(bus, envelope, { redelivered: false, attempt: 1 }, parentRunId, {
        seed: 3,
        validationFraction: config.VALIDATION_FRACTION,
      }),
      track: (change) =>
        status.update(
          envelope.messageId,
          { correlationId: envelope.correlationId, dataset: 'mixed' },
          change,
        ),
      log: () => undefined,
    },
  );
  const registered = registry.versions.at(-1)!;
  return { summary, observer, registered, bytes: registry.artifacts.get(registered.sha256)! };
}

/** Raw rows as a client sends them: strings, nulls and a category never seen in training. */
const RAW: FeatureCell[][] = [
  [2, 'red', 1],
  [8, 'green', null],
  [null, 'blue', 3],
  [5, null, null],
  [7, 'purple', 2],
];

/**
 * Scores RAW with an exported regressor (as the gateway would) and checks the answers: a finite value per row, and
 * the first two near the truth (size 2 + red: about 3 + 1 + 2 = 6; size 8 + green: about 7). Returns the metadata.
 */
async function expectRegressionAnswers(bytes: Uint8Array) {
  const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
  expect(metadata).toMatchObject({ task: 'regression', labels: [] });
  const outputs = await runOnnxModel(bytes, RAW, metadata.featureColumns);
  const values = Array.from(outputs.value as Float32Array);
  expect(values).toHaveLength(RAW.length);
  expect(values.every(Number.isFinite)).toBe(true);
  expect(values[0]).toBeGreaterThan(5);
  expect(values[0]).toBeLessThan(7);
  expect(values[1]).toBeGreaterThan(6);
  expect(values[1]).toBeLessThan(8);
  return metadata;
}

describe('TrainingPipeline on a dataset with a categorical column and missing cells', () => {
  it('trains a classifier whose export takes raw strings and nulls, with the columns in its metadata', async () => {
    const registry = new InMemoryRegistry();
    const { summary, observer, registered, bytes } = await runJob(mixedDataset('classification'), registry);
    expect(observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
    expect(summary).toMatch(/test_accuracy/);
    expect(registered.metrics.test_accuracy).toBeGreaterThan(0.8);
    expect(registered.metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);

    const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
    expect(metadata.task).toBe('classification');
    expect(metadata.featureColumns).toEqual([
      { name: 'size', type: 'numeric', imputed: expect.any(Number), missing: true },
      { name: 'colour', type: 'categorical', categories: ['blue', 'green', 'red'], missing: true },
      { name: 'weight', type: 'numeric', imputed: expect.any(Number), missing: true },
    ]);
    const outputs = await runOnnxModel(bytes, RAW, metadata.featureColumns);
    const labels = Array.from(outputs.label as BigInt64Array, Number);
    expect(labels).toHaveLength(RAW.length);
    // A red row is class 2 ("red") whatever its size; the unseen colour still gets an answer.
    expect(labels[0]).toBe(2);
    expect(Array.from(outputs.probabilities as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('trains a regressor: value [N, 1], test_rmse/mae/r2/within_tolerance recorded, gated on test_rmse', async () => {
    const registry = new InMemoryRegistry();
    const { summary, observer, registered, bytes } = await runJob(mixedDataset('regression'), registry);
    expect(observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
    expect(summary).toMatch(/promoted \(test_rmse /);
    const { metrics } = registered;
    expect(Object.keys(metrics)).toEqual(
      expect.arrayContaining([
        'test_rmse',
        'test_mae',
        'test_r2',
        'test_within_tolerance',
        'val_rmse',
        'val_mae',
        'val_r2',
        'val_within_tolerance',
      ]),
    );
    // The validation figures are of the kept weights: the same RMSE as the history's, and consistent with it.
    expect(metrics.val_mae).toBeLessThanOrEqual(metrics.val_rmse + 1e-9);
    expect(metrics.val_r2).toBeLessThanOrEqual(1);
    expect(metrics).not.toHaveProperty('test_accuracy');
    expect(metrics.test_r2).toBeGreaterThan(0.5);
    expect(metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
    expect(observer.summaryOf('gate')).toMatchObject({
      metric: 'test_rmse',
      direction: 'down',
      gate: 'default',
    });
    expect(registered.signature).toMatchObject({ task: 'regression', outputs: [{ name: 'value' }] });

    await expectRegressionAnswers(bytes);
  });

  it.each([
    ['gbdt', { model: ['gbdt'] }],
    ['forest', { model: ['forest'], trees: [40] }],
  ])(
    'trains a %s regressor: the preprocessing in front of TreeEnsembleRegressor, parity, validation metrics',
    async (_family, grid) => {
      const registry = new InMemoryRegistry();
      const { summary, observer, registered, bytes } = await runJob(mixedDataset('regression'), registry, {
        grid,
      });
      expect(observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
      expect(summary).toMatch(/promoted \(test_rmse /);
      const { metrics } = registered;
      for (const key of ['val_rmse', 'val_mae', 'val_r2', 'val_within_tolerance', 'test_rmse', 'test_r2']) {
        expect(Number.isFinite(metrics[key])).toBe(true);
      }
      expect(metrics).not.toHaveProperty('test_accuracy');
      // About 10% of the sizes and colours are missing (imputed): the dense model's own bar is 0.5.
      expect(metrics.val_r2).toBeGreaterThan(0.7);
      expect(metrics.test_r2).toBeGreaterThan(0.7);
      expect(metrics.onnx_parity_max_abs_diff).toBeLessThan(1e-5);
      // The colour's one-hot block carries split gain, reported on the column: the trees read the categorical cells.
      expect(metrics.importance_colour).toBeGreaterThan(0.05);
      expect(metrics.importance_size).toBeGreaterThan(metrics.importance_weight);
      expect(registered.signature).toMatchObject({ task: 'regression', outputs: [{ name: 'value' }] });

      const metadata = await expectRegressionAnswers(bytes);
      expect(metadata.featureColumns?.map((column) => column.type)).toEqual([
        'numeric',
        'categorical',
        'numeric',
      ]);
    },
  );

  it('trains a forest classifier on the categorical and missing cells, scored from raw cells', async () => {
    const registry = new InMemoryRegistry();
    const { observer, registered, bytes } = await runJob(mixedDataset('classification'), registry, {
      grid: { model: ['forest'], trees: [30] },
    });
    expect(observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
    expect(registered.metrics.test_accuracy).toBeGreaterThan(0.8);
    expect(registered.metrics.onnx_parity_label_mismatches).toBe(0);
    const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
    const outputs = await runOnnxModel(bytes, RAW, metadata.featureColumns);
    expect(Array.from(outputs.label as BigInt64Array, Number)[0]).toBe(2);
  });
});
