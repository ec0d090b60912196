/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { createHash, randomUUID } from 'node:crypto';
import { EventNames, type JobStatusView, type TrainRequested } from '@sepal/contracts';
import { createEnvelope } from '@sepal/messaging';
import { JobRejectedError } from '../jobs/job-errors';
import { JobStatusStore } from '../jobs/job-status.store';
import { ParentRun } from '../jobs/parent-run';
import { RunReporter } from '../jobs/run-reporter';
import { TrainerMetrics } from '../observability/trainer-metrics';
import {
  datasetVersion,
  InMemoryDatasets,
  InMemoryRegistry,
  RecordingEventBus,
  serviceError,
  type StoredDataset,
} from '../test/fakes';
import { RecordingObserver } from '../test/recording-observer';
import { readIris } from '../training/test/iris';
import { carveStratifiedHoldout } from '../training/validation-split';
import { TrainerConfig } from '../trainer.config';
import { ParityStep } from './parity.step';
import { TRAINER_STEPS } from './step-runner';
import { InProcessTrialTrainer } from '../workers/trial-trainer';
import { TrainingPipeline } from './training-pipeline';

jest.setTimeout(60_000);

/** Iris, 120 train / 30 test rows, as the data service would serve version 1. */
function irisDataset(): StoredDataset {
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
const SMALL_JOB = {
  dataset: 'iris',
  reason: 'manual',
  grid: { learningRate: [0.05, 0.1] },
  params: { epochs: 15 },
} as const satisfies Partial<TrainRequested>;

describe('TrainingPipeline on in-memory data, registry and bus', () => {
  // One validation carve (no cross-validation) unless a test says otherwise: the trials train once each.
  const config = TrainerConfig.load({ GATE_MIN_ACCURACY: '0', LOG_LEVEL: 'warn', TRAIN_CV_MAX_ROWS: '0' });
  const iris = irisDataset();

  /** One job through the pipeline with its own bus, observer and status, over `registry`. */
  async function runJob(
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
  }

  describe('a first job, then the same job again', () => {
    const registry = new InMemoryRegistry();
    let first: Awaited<ReturnType<typeof runJob>>;
    let second: Awaited<ReturnType<typeof runJob>>;

    beforeAll(async () => {
      first = await runJob(SMALL_JOB, registry);
      second = await runJob(SMALL_JOB, registry);
    });

    it('runs every step in order, each with a summary', () => {
      expect(first.error).toBeUndefined();
      expect(first.observer.steps('started')).toEqual([...TRAINER_STEPS]);
      expect(first.observer.steps('succeeded')).toEqual([...TRAINER_STEPS]);
      expect(first.observer.summaryOf('resolve-data')).toEqual({
        datasetVersion: iris.version.id,
        version: 'v1',
        fit_rows: 96,
        validation_rows: 24,
        test_rows: 30,
        trials: 2,
        backend: expect.stringMatching(/^(tensorflow|wasm|cpu)$/),
      });
      expect(first.observer.summaryOf('train-trials')).toEqual({
        trials: 2,
        finished: 2,
        failed: 0,
        best_val_accuracy: expect.any(Number),
      });
      expect(first.observer.summaryOf('gate')).toMatchObject({ alias: 'champion', champion_version: null });
      expect(first.observer.summaryOf('promote')).toEqual({
        modelName: 'IrisModel',
        modelVersion: 1,
        alias: 'champion',
      });
      expect(first.summary).toMatch(
        /^IrisModel v1 promoted \(test_accuracy \d\.\d{4}, parity .*\): no champion yet/,
      );
    });

    it('registers the checked export and promotes it, there being no champion', () => {
      expect(registry.versions).toHaveLength(2);
      const [v1] = registry.versions;
      expect(v1).toMatchObject({ name: 'IrisModel', version: 1, runId: first.parentRunId });
      expect(registry.artifacts.get(v1.sha256)).toBeDefined();
      expect(v1.metrics).toMatchObject({ trials_done: 2, selected_trial: expect.any(Number) });
      expect(v1.metrics.onnx_parity_max_abs_diff).toBeLessThan(config.PARITY_TOLERANCE);
      expect(registry.aliasChanges[0]).toMatchObject({
        model: 'IrisModel',
        alias: 'champion',
        version: 1,
      });
    });

    it('refits the selected trial on fit + validation rows as its own step, its figures in the version', () => {
      expect(first.observer.summaryOf('refit')).toEqual({
        rows: 120,
        // The dense trial's early-stopped epoch count is fixed for the refit.
        params: expect.stringMatching(/^learningRate=0\.(05|1) epochs=\d+$/),
        steps: expect.any(Number),
        parameters: expect.any(Number),
        seconds: expect.any(Number),
      });
      const epochs = Number(/epochs=(\d+)/.exec(String(first.observer.summaryOf('refit')?.params))?.[1]);
      expect(epochs).toBeGreaterThanOrEqual(1);
      expect(epochs).toBeLessThanOrEqual(15);
      expect(registry.versions[0].metrics).toMatchObject({ refit_rows: 120, refit_steps: epochs });
      expect(registry.versions[0].metrics.refit_seconds).toBeGreaterThan(0);
    });

    it('reports progress: child runs per trial with epochs, the parent run counting trials, then closed', () => {
      const { bus, parentRunId, view } = first;
      const started = bus.of(EventNames.TrainingStarted).map((e) => e.payload);
      expect(started.map((run) => run.parentRunId)).toEqual([null, parentRunId, parentRunId]);
      const children = started.slice(1).map((run) => run.runId);
      const progress = bus.of(EventNames.TrainingProgress).map((e) => e.payload);
      for (const child of children) {
        expect(progress.filter((p) => p.runId === child).length).toBeGreaterThan(1);
      }
      const parentProgress = progress
        .filter((p) => p.runId === parentRunId)
        .map((p) => p.metrics.trials_done);
      expect(parentProgress.slice(0, 2)).toEqual([1, 2]);
      const finished = bus.of(EventNames.RunFinished).map((e) => e.payload);
      expect(finished.map((run) => run.runId)).toEqual([...children, parentRunId]);
      expect(finished[2]).toMatchObject({
        status: 'finished',
        tags: { gate_decision: 'promoted', model_version: '1' },
      });
      expect(bus.of(EventNames.ModelRegistered).map((e) => e.payload.version)).toEqual([1]);

      expect(view.trials.map((trial) => [trial.status, trial.runId])).toEqual(
        children.map((id) => ['finished', id]),
      );
      expect(view.trials.every((trial) => trial.epoch > 0 && trial.valAccuracy !== null)).toBe(true);
      expect(view.selectedTrial).not.toBeNull();
      expect(view.testMetrics.test_accuracy).toBeGreaterThan(0);
      expect(view).toMatchObject({
        modelName: 'IrisModel',
        modelVersion: 1,
        gateDecision: 'promoted',
        backend: expect.any(String),
      });
    });

    it("keeps the champion when the same model again does not beat it, scored on this job's test split", () => {
      expect(second.error).toBeUndefined();
      expect(second.summary).toMatch(
        /^IrisModel v2 challenger .*does not beat the champion.*on the same test split/,
      );
      expect(second.logs.filter((line) => /not re-evaluated/.test(line))).toEqual([]);
      expect(registry.aliases.get('IrisModel:champion')).toBe(1);
      expect(registry.aliases.get('IrisModel:challenger')).toBe(2);
      expect(second.observer.summaryOf('gate')).toMatchObject({ alias: 'challenger', champion_version: 1 });
      expect(second.observer.summaryOf('promote')).toEqual({
        modelName: 'IrisModel',
        modelVersion: 2,
        alias: 'challenger',
      });
      expect(second.view.gateDecision).toBe('challenger');
    });

    it('rejects an export whose onnxruntime outputs differ from TensorFlow.js, recording the figures', async () => {
      const bus = new RecordingEventBus();
      const run = new RunReporter(bus, randomUUID(), {
        experiment: 'iris',
        dataset: 'iris',
        datasetVersion: iris.version.id,
        backend: 'cpu',
      });
      const bytes = registry.artifacts.get(registry.versions[0].sha256) as Uint8Array;
      const wrong = iris.test.labels.map(() => [0.9, 0.05, 0.05]);
      const parity = new ParityStep({ tolerance: config.PARITY_TOLERANCE });
      const checked = parity.run({
        parentRunId: randomUUID(),
        run,
        trialCount: 2,
        bytes,
        test: iris.test,
        probabilities: wrong,
      });
      await expect(checked).rejects.toThrow(JobRejectedError);
      await expect(checked).rejects.toThrow(/ONNX parity check failed: max \|ONNX - tf\| = .* is not below/);
      const recorded = bus.of(EventNames.TrainingProgress).map((e) => e.payload.metrics);
      expect(recorded).toEqual([
        { onnx_parity_max_abs_diff: expect.any(Number), onnx_parity_label_mismatches: expect.any(Number) },
      ]);
      expect(recorded[0].onnx_parity_label_mismatches).toBeGreaterThan(0);
    });
  });

  it('stops at the failing step: registry down at register, so nothing is registered, gated or promoted', async () => {
    const registry = new InMemoryRegistry();
    const down = serviceError('registry', null, 'connect ECONNREFUSED');
    registry.failures.uploadArtifact = down;
    const job = await runJob({ ...SMALL_JOB, grid: { learningRate: [0.1] } }, registry);
    expect(job.error).toBe(down);
    expect(job.observer.steps('succeeded')).toEqual(
      TRAINER_STEPS.slice(0, TRAINER_STEPS.indexOf('register')),
    );
    expect(job.observer.steps('failed')).toEqual(['register']);
    expect(job.observer.steps('started')).not.toContain('gate');
    expect(registry.versions).toEqual([]);
    expect(registry.aliasChanges).toEqual([]);
    expect(job.bus.of(EventNames.ModelRegistered)).toEqual([]);
    // What was trained is on the run; closing it as failed is the job runner's part.
    const parentProgress = job.bus
      .of(EventNames.TrainingProgress)
      .filter((e) => e.payload.runId === job.parentRunId);
    expect(parentProgress.at(-1)?.payload.metrics).toMatchObject({
      test_accuracy: expect.any(Number),
      selected_trial: 1,
    });
    expect(job.bus.of(EventNames.RunFinished).map((e) => e.payload.runId)).not.toContain(job.parentRunId);
    expect(job.view.modelVersion).toBeNull();
  });

  describe('a retry that resumes after selection', () => {
    const registry = new InMemoryRegistry();
    const job = { ...SMALL_JOB, grid: { learningRate: [0.1] } };
    let failed: Awaited<ReturnType<typeof runJob>>;

    beforeAll(async () => {
      registry.failures.registerVersion = serviceError('registry', null, 'connect ECONNREFUSED');
      failed = await runJob(job, registry);
      delete registry.failures.registerVersion;
    });

    it('keeps the selected trial in the artifact store and names it in the select summary', () => {
      expect(failed.observer.steps('failed')).toEqual(['register']);
      const kept = failed.observer.summaryOf('select')?.selected_trial_sha256;
      expect(kept).toMatch(/^[0-9a-f]{64}$/);
      expect(registry.artifacts.has(kept as string)).toBe(true);
    });

    it('from evaluate: no trial trains again, and the reused model is evaluated, exported and registered', async () => {
      const sha = failed.observer.summaryOf('select')?.selected_trial_sha256 as string;
      const resumed = await runJob(
        {
          ...job,
          attempt: 2,
          resume: {
            fromStep: 'evaluate',
            reason: 'test',
            fromAttempt: 1,
            datasetVersion: iris.version.id,
            selectedTrialSha256: sha,
          },
        },
        registry,
      );
      expect(resumed.error).toBeUndefined();
      expect(resumed.observer.steps('skipped')).toEqual(['train-trials']);
      expect(resumed.observer.summaryOf('select')).toMatchObject({
        reused_from_attempt: 1,
        selected_trial_sha256: sha,
        params: failed.observer.summaryOf('select')?.params,
      });
      // Only the parent run started: no child run, no trial trained.
      expect(resumed.bus.of(EventNames.TrainingStarted)).toHaveLength(1);
      expect(resumed.observer.summaryOf('evaluate')).toEqual(failed.observer.summaryOf('evaluate'));
      expect(registry.versions.map((v) => v.version)).toEqual([1]);
    });

    it('from gate: the registered version is reused, not registered again', async () => {
      const sha = failed.observer.summaryOf('select')?.selected_trial_sha256 as string;
      const [v1] = registry.versions;
      const resumed = await runJob(
        {
          ...job,
          attempt: 3,
          resume: {
            fromStep: 'gate',
            reason: 'test',
            fromAttempt: 2,
            datasetVersion: iris.version.id,
            selectedTrialSha256: sha,
            registered: { modelName: v1.name, version: v1.version, sha256: v1.sha256 },
          },
        },
        registry,
      );
      expect(resumed.error).toBeUndefined();
      expect(resumed.observer.steps('skipped')).toEqual(['train-trials', 'register']);
      expect(resumed.observer.steps('succeeded')).toContain('promote');
      expect(registry.versions).toHaveLength(1);
    });
  });

  it('selects by k-fold cross-validation on a small training split, then refits on all of it', async () => {
    const folds = TrainerConfig.load({ GATE_MIN_ACCURACY: '0', LOG_LEVEL: 'warn', TRAIN_CV_FOLDS: '3' });
    const registry = new InMemoryRegistry();
    const { error, observer, bus } = await runJob(
      { ...SMALL_JOB, grid: { model: ['forest'], trees: [5] } },
      registry,
      { iris },
      folds,
    );
    expect(error).toBeUndefined();
    expect(observer.summaryOf('resolve-data')).toMatchObject({
      fit_rows: 96,
      validation_rows: 24,
      cv_folds: 3,
    });
    expect(observer.summaryOf('select')).toMatchObject({ cv_folds: 3 });
    expect(observer.summaryOf('refit')).toMatchObject({ rows: 120, steps: 5 });
    const trialFinished = bus
      .of(EventNames.RunFinished)
      .find((event) => event.payload.metrics?.cv_folds !== undefined);
    expect(trialFinished?.payload.metrics).toMatchObject({ cv_folds: 3 });
  });

  it('skips the refit with TRAIN_REFIT=false: the selected trial is evaluated as it was trained', async () => {
    const noRefit = TrainerConfig.load({ GATE_MIN_ACCURACY: '0', LOG_LEVEL: 'warn', TRAIN_REFIT: 'false' });
    const registry = new InMemoryRegistry();
    const { error, observer } = await runJob(
      { ...SMALL_JOB, grid: { learningRate: [0.1] } },
      registry,
      { iris },
      noRefit,
    );
    expect(error).toBeUndefined();
    expect(observer.steps('skipped')).toEqual(['refit']);
    const skipped = observer.events.find((event) => event.step === 'refit' && event.outcome === 'skipped');
    expect(skipped?.summary).toMatchObject({ refit: false });
    expect(registry.versions[0].metrics.refit_rows).toBeUndefined();
  });

  it('rejects a split too small at resolve data, after opening the run so the refusal is recorded on it', async () => {
    const tiny = {
      ...iris,
      train: { features: iris.train.features.slice(0, 6), labels: iris.train.labels.slice(0, 6) },
    };
    const job = await runJob({ dataset: 'iris' }, new InMemoryRegistry(), { iris: tiny });
    expect(job.error).toBeInstanceOf(JobRejectedError);
    expect((job.error as Error).message).toMatch(
      /^dataset too small for the split: the training split has 6 rows, at least 10/,
    );
    expect(job.observer.events.map(({ step, outcome }) => `${step} ${outcome}`)).toEqual([
      'resolve-data started',
      'resolve-data failed',
    ]);
    expect(job.bus.of(EventNames.TrainingStarted).map((e) => e.payload.runId)).toEqual([job.parentRunId]);
  });

  it('rejects an unknown dataset at resolve data; the run it opens says the version was not resolved', async () => {
    const job = await runJob({ dataset: 'no-such-dataset' }, new InMemoryRegistry());
    expect(job.error).toBeInstanceOf(JobRejectedError);
    expect((job.error as Error).message).toMatch(/^dataset 'no-such-dataset' not found/);
    expect(job.observer.steps('failed')).toEqual(['resolve-data']);
    const [parent] = job.bus.of(EventNames.TrainingStarted).map((e) => e.payload);
    expect(parent.tags).toMatchObject({ dataset_version_resolved: 'false' });
    expect(parent.datasetVersion).toBe('0'.repeat(64));
  });
});
