/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
// Retries resuming after selection, cross-validation, TRAIN_REFIT=false and refusals at resolve data.
import { EventNames } from '@sepal/contracts';
import { JobRejectedError } from '../jobs/job-errors';
import { InMemoryRegistry, serviceError } from '../../test/support/fakes';
import { TrainerConfig } from '../trainer.config';
import { pipelineJobs, SMALL_JOB } from '../../test/support/pipeline-jobs';

jest.setTimeout(60_000);

describe('TrainingPipeline on in-memory data, registry and bus', () => {
  // One validation carve (no cross-validation) unless a test says otherwise: the trials train once each.
  const { iris, runJob } = pipelineJobs();

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
