/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
// An image dataset version through the pipeline on in-memory data and registry: a CNN grid, export, parity, gate.
import { createHash } from 'node:crypto';
import { EventNames, parseOnnxMetadata } from '@sepal/contracts';
import { createRng, readOnnxMetadata } from '@sepal/ml';
import type { SplitImages } from '../clients/data-client';
import { JobRejectedError } from '../jobs/job-errors';
import { datasetVersion, InMemoryRegistry, type StoredDataset } from '../../test/support/fakes';
import { pipelineJobs } from '../../test/support/pipeline-jobs';
import { TRAINER_STEPS } from './step-runner';

jest.setTimeout(60_000);

const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);
const IMAGE = { height: 8, width: 8, channels: 1 as const };
const LABELS = ['top', 'bottom'];

/** Class 0 is bright in the top half, class 1 in the bottom half, with noise. */
function split(count: number, random: () => number): SplitImages {
  const pixels = new Uint8Array(count * 64);
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    labels.push(i % 2);
    for (let p = 0; p < 64; p++) {
      const lit = p < 32 === (i % 2 === 0);
      pixels[i * 64 + p] = Math.floor((lit ? 150 : 0) + random() * 100);
    }
  }
  // A content hash per image, as the data service sends them: the evaluation names misclassified ones by it.
  const hashes = labels.map((_, i) =>
    createHash('sha256')
      .update(pixels.subarray(i * 64, (i + 1) * 64))
      .digest('hex'),
  );
  return { image: IMAGE, pixels, labels, hashes };
}

function imageDataset(): StoredDataset {
  const random = createRng(SEED);
  const train = split(80, random);
  const test = split(20, random);
  const version = datasetVersion({
    id: createHash('sha256').update('halves v1').digest('hex'),
    seq: 1,
    features: ['image'],
    labels: LABELS,
    rows: 100,
  });
  version.schema.image = { ...IMAGE, resize: 'stretch' };
  return {
    version,
    train: { features: train.labels.map(() => []), labels: train.labels },
    test: { features: test.labels.map(() => []), labels: test.labels },
    images: { train, test },
  };
}

describe('TrainingPipeline on an image dataset version', () => {
  const { runJob } = pipelineJobs();
  const datasets = { halves: imageDataset() };
  const registry = new InMemoryRegistry();
  let job: Awaited<ReturnType<typeof runJob>>;

  beforeAll(async () => {
    console.log(`image-pipeline.spec seed ${SEED} (set SEPAL_TEST_SEED to repeat)`);
    job = await runJob(
      {
        dataset: 'halves',
        grid: { filters: [2, 4] },
        params: { convBlocks: 1, denseUnits: 0, dropout: 0, batchSize: 16, epochs: 3, learningRate: 0.01 },
      },
      registry,
      datasets,
    );
  });

  it('trains a CNN grid (the family of image datasets) through every step', () => {
    expect(job.error).toBeUndefined();
    expect(job.observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
    expect(job.observer.summaryOf('resolve-data')).toMatchObject({
      fit_rows: 64,
      validation_rows: 16,
      test_rows: 20,
      image_shape: '8x8x1',
      trials: 2,
    });
    expect(job.observer.summaryOf('train-trials')).toMatchObject({ trials: 2, finished: 2 });
    expect(job.observer.summaryOf('select')).toMatchObject({
      params: expect.stringMatching(/^model=cnn filters=[24]$/),
    });
    expect(job.observer.summaryOf('evaluate')).toMatchObject({ test_rows: 20 });
  });

  it('reports each trial epoch by epoch, like the dense family', () => {
    const progress = job.bus.of(EventNames.TrainingProgress).map((event) => event.payload);
    const epochs = progress.filter(
      (p) => p.metrics.val_accuracy !== undefined && p.metrics.epoch !== undefined,
    );
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(epochs[0].metrics).sort()).toEqual([
      'accuracy',
      'epoch',
      'loss',
      'val_accuracy',
      'val_loss',
    ]);
  });

  it('exports the CNN with its image metadata, within 1e-4 of TensorFlow.js, and promotes it', () => {
    const [v1] = registry.versions;
    expect(v1).toMatchObject({ name: 'HalvesModel', version: 1 });
    expect(v1.metrics.onnx_parity_max_abs_diff).toBeLessThanOrEqual(1e-4);
    expect(v1.metrics.onnx_parity_label_mismatches).toBe(0);
    expect(v1.metrics).toHaveProperty('test_macro_f1');
    // The registered signature describes the image input, as the ONNX graph takes it.
    expect(v1.signature).toMatchObject({
      inputs: [{ name: 'features', dtype: 'uint8', shape: [-1, IMAGE.height, IMAGE.width, IMAGE.channels] }],
      image: { height: IMAGE.height, width: IMAGE.width, channels: IMAGE.channels },
      labels: LABELS,
    });
    const metadata = parseOnnxMetadata(readOnnxMetadata(registry.artifacts.get(v1.sha256)!));
    expect(metadata.image).toEqual({ ...IMAGE, inputType: 'uint8' });
    expect(metadata.labels).toEqual(LABELS);
    expect(metadata.imageReference?.intensity).toHaveLength(1);
    expect(registry.aliasChanges[0]).toMatchObject({ model: 'HalvesModel', alias: 'champion', version: 1 });
  });

  it('refuses a table family on images and a CNN on a table, naming the family', async () => {
    const dense = await runJob({ dataset: 'halves', grid: { model: ['dense'] } }, registry, datasets);
    expect(dense.error).toBeInstanceOf(JobRejectedError);
    expect(String(dense.error)).toMatch(
      /model dense trains on tables; an image dataset trains model cnn only/,
    );
    const onIris = await runJob({ dataset: 'iris', grid: { model: ['cnn'], filters: [2] } }, registry);
    expect(onIris.error).toBeInstanceOf(JobRejectedError);
    expect(String(onIris.error)).toMatch(/model cnn trains on image datasets only/);
  });
});
