/** Jobs through the TrainingPipeline on in-memory data, registry and bus, for its specs. */
import { createHash, randomUUID } from 'node:crypto';
import { EventNames, type JobStatusView, type TrainRequested } from '@sepal/contracts';
import { createEnvelope } from '@sepal/messaging';
import { JobStatusStore } from '../../src/jobs/job-status.service';
import { ParentRun } from '../../src/jobs/parent-run';
import { TrainerMetrics } from '../../src/metrics/trainer-metrics.service';
import {
  datasetVersion,
  InMemoryDatasets,
  InMemoryRegistry,
  RecordingEventBus,
  type StoredDataset,
} from './fakes';
import { RecordingObserver } from './recording-observer';
import { readIris } from './iris';
import { carveStratifiedHoldout } from '../../src/training/validation-split';
import { TrainerConfig, type TrainerConfigValues } from '../../src/trainer.config';
import { InProcessTrialTrainer } from '../../src/workers/trial-trainer.service';
import { TrainingPipeline } from '../../src/pipeline/training-pipeline.service';

/** Iris, 120 train / 30 test rows, as the data service would serve version 1. */
export function irisDataset(): StoredDataset {
  const iris = readIris();
  const { fit, holdout } = carveStratifiedHoldout(iris.y, 0.2, 11);
  const pick = (rows: number[]) => ({
    features: rows.map((r) => iris.x[r]),
    labels: rows.map((r) => iris.y[r]),
  });
  const version = datasetVersion({
    id: createHash('sha256').update('iris v1').digest('hex'),
    seq: 1,
    features: iris.featureNames,
    labels: iris.labels,
    rows: iris.y.length,
  });
  return { version, train: pick(fit), test: pick(holdout) };
}

/** Small enough to train in a second or two; the same job twice gives the same model (same seed). */
export const SMALL_JOB = {
  dataset: 'iris',
  reason: 'manual',
  grid: { learningRate: [0.05, 0.1] },
  params: { epochs: 15 },
} as const satisfies Partial<TrainRequested>;

/**
 * runJob(payload, registry, datasets?, jobConfig?): one job through the pipeline with its own bus, observer and
 * status, over `registry`, on `iris` unless `datasets` says otherwise and with `config` unless `jobConfig` does.
 */
export function pipelineJobRunner(config: TrainerConfigValues, iris: StoredDataset) {
  return async function runJob(
    payload: Partial<TrainRequested> & { dataset: string },
    registry: InMemoryRegistry,
    datasets: Record<string, StoredDataset> = { iris },
    jobConfig = config,
  ) {
    const bus = new RecordingEventBus();
    const envelope = createEnvelope(EventNames.TrainRequested, { reason: 'manual', ...payload });
    const jobId = envelope.messageId;
    const parentRunId = randomUUID();
    const observer = new RecordingObserver();
    const status = new JobStatusStore();
    const logs: string[] = [];
    const pipeline = new TrainingPipeline(
      jobConfig,
      new InMemoryDatasets(datasets),
      registry,
      new TrainerMetrics(),
      new InProcessTrialTrainer(),
    );
    const result = pipeline
      .run(
        { job: envelope.payload, jobId, parentRunId, seed: 5 },
        {
          observer,
          openRun: new ParentRun(bus, envelope, { redelivered: false, attempt: 1 }, parentRunId, {
            seed: 5,
            validationFraction: config.VALIDATION_FRACTION,
          }),
          track: (change) =>
            status.update(jobId, { correlationId: envelope.correlationId, dataset: 'iris' }, change),
          log: (message) => logs.push(message),
        },
      )
      .then(
        (summary) => ({ summary, error: undefined }),
        (error: unknown) => ({ summary: undefined, error }),
      );
    const { summary, error } = await result;
    return { bus, observer, logs, parentRunId, summary, error, view: status.get(jobId) as JobStatusView };
  };
}

/** The specs' config (one validation carve, no cross-validation: the trials train once each), iris, and runJob. */
export function pipelineJobs() {
  const config = TrainerConfig.load({ GATE_MIN_ACCURACY: '0', LOG_LEVEL: 'warn', TRAIN_CV_MAX_ROWS: '0' });
  const iris = irisDataset();
  return { config, iris, runJob: pipelineJobRunner(config, iris) };
}
