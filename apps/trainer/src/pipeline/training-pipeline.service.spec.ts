/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
// A job through the pipeline: its steps, registration, progress, the gate, parity, and a failing step.
import { randomUUID } from 'node:crypto';
import { EventNames } from '@sepal/contracts';
import { JobRejectedError } from '../jobs/job-errors';
import { RunReporter } from '../jobs/run-reporter';
import { InMemoryRegistry, RecordingEventBus, serviceError } from '../../test/support/fakes';
import { ParityStep } from './parity.step';
import { TRAINER_STEPS } from './step-runner';
import { pipelineJobs, SMALL_JOB } from '../../test/support/pipeline-jobs';

jest.setTimeout(60_000);

describe('TrainingPipeline on in-memory data, registry and bus', () => {
  // One validation carve (no cross-validation) unless a test says otherwise: the trials train once each.
  const { config, iris, runJob } = pipelineJobs();

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
});
