import { RunningJobs } from './running-jobs.service';
import { randomUUID } from 'node:crypto';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { EventNames, type TrainRequested } from '@sepal/contracts';
import { createEnvelope } from '@sepal/messaging';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import { JobPipeline, type PipelineHooks, type PipelineJob } from '../pipeline/training-pipeline.service';
import {
  datasetVersion,
  InMemoryRegistry,
  RecordingEventBus,
  runView,
  serviceError,
} from '../../test/support/fakes';
import { TrainerConfig } from '../trainer.config';
import { JobFailedError, JobRejectedError } from './job-errors';
import { JobRunner, WORKER_LOST } from './job-runner.service';
import { JobStatusStore } from './job-status.service';
import { firstAttemptRunId } from './run-ids';

const VERSION = datasetVersion({
  id: 'c'.repeat(64),
  seq: 3,
  features: ['a', 'b'],
  labels: ['no', 'yes'],
  rows: 10,
});

/** Plays a pipeline: what it does with the hooks is the test's script; it trains nothing. */
class ScriptedPipeline extends JobPipeline {
  readonly jobs: PipelineJob[] = [];

  constructor(private readonly script: (hooks: PipelineHooks) => Promise<string>) {
    super();
  }

  run(job: PipelineJob, hooks: PipelineHooks): Promise<string> {
    this.jobs.push(job);
    return this.script(hooks);
  }
}

/** Opens the run as the resolve-data step does, then fails `step` with `error`. */
const failingAt =
  (step: 'resolve-data' | 'parity' | 'register', error: Error, open = true) =>
  async (hooks: PipelineHooks): Promise<string> => {
    if (open) await hooks.openRun.open({ plan: undefined, version: VERSION, backend: 'cpu' });
    await hooks.observer.stepStarted(step);
    await hooks.observer.stepFailed(step, error);
    throw error;
  };

const metrics = new TrainerMetrics();
const countOf = async (status: string) =>
  (await metrics.runs.get()).values.find((value) => value.labels.status === status)?.value ?? 0;

function setUp(script: (hooks: PipelineHooks) => Promise<string>, job: Partial<TrainRequested> = {}) {
  const bus = new RecordingEventBus();
  const registry = new InMemoryRegistry();
  const status = new JobStatusStore();
  const pipeline = new ScriptedPipeline(script);
  const running = new RunningJobs();
  const runner = new JobRunner(TrainerConfig.load({}), bus, registry, status, metrics, pipeline, running);
  const envelope = createEnvelope(EventNames.TrainRequested, { dataset: 'iris', ...job });
  const run = (delivery = { redelivered: false, attempt: 1 }) => runner.run(envelope, delivery);
  const finished = () => bus.of(EventNames.RunFinished).map((e) => e.payload);
  return {
    bus,
    registry,
    status,
    pipeline,
    envelope,
    run,
    finished,
    view: () => status.get(envelope.messageId),
  };
}

describe('JobRunner', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it("runs the pipeline with the job's ids and seed and records it finished", async () => {
    const before = await countOf('finished');
    const job = setUp(async (hooks) => {
      await hooks.openRun.open({ plan: undefined, version: VERSION, backend: 'cpu' });
      return 'IrisModel v1 promoted';
    });
    await job.run();
    expect(job.pipeline.jobs).toEqual([
      {
        job: job.envelope.payload,
        jobId: job.envelope.messageId,
        parentRunId: firstAttemptRunId(job.envelope.messageId),
        seed: 42,
      },
    ]);
    expect(job.view()).toMatchObject({
      state: 'finished',
      error: null,
      parentRunId: job.pipeline.jobs[0].parentRunId,
    });
    expect(await countOf('finished')).toBe(before + 1);
    const [parent] = job.bus.of(EventNames.TrainingStarted).map((e) => e.payload);
    expect(parent).toMatchObject({
      runId: job.pipeline.jobs[0].parentRunId,
      runName: 'sweep iris v3',
      params: { seed: 42, validation_fraction: 0.2 },
      tags: { job_id: job.envelope.messageId, role: 'sweep', reason: 'manual' },
    });
  });

  it("uses the job's own seed when it gives one", async () => {
    const job = setUp(async () => 'done', { seed: 7 });
    await job.run();
    expect(job.pipeline.jobs[0].seed).toBe(7);
  });

  it('acknowledges a copy of a message already handled without running it', async () => {
    const before = await countOf('duplicate');
    const job = setUp(async () => 'trained again');
    job.registry.runs.push(
      runView({ id: 'earlier', tags: { job_id: job.envelope.messageId }, status: 'running' }),
    );
    await job.run();
    expect(job.pipeline.jobs).toEqual([]);
    expect(await countOf('duplicate')).toBe(before + 1);
    expect(job.bus.envelopes).toEqual([]);
  });

  it('trains a copy whose earlier run failed', async () => {
    const job = setUp(async () => 'trained again');
    job.registry.runs.push(
      runView({ id: 'earlier', tags: { job_id: job.envelope.messageId }, status: 'failed' }),
    );
    await job.run();
    expect(job.pipeline.jobs).toHaveLength(1);
  });

  it('closes the run as failed and rejected when a step rejects the job, and names the step', async () => {
    const before = await countOf('rejected');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const job = setUp(
      failingAt('parity', new JobRejectedError('ONNX parity check failed: 3 of 30 labels differ')),
    );
    const failure = await job.run().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({
      message: 'ONNX parity check failed: 3 of 30 labels differ',
      permanent: true,
    });
    expect(job.finished()).toEqual([
      expect.objectContaining({
        runId: firstAttemptRunId(job.envelope.messageId),
        status: 'failed',
        error: 'ONNX parity check failed: 3 of 30 labels differ',
        tags: { rejected: 'true' },
      }),
    ]);
    expect(job.view()).toMatchObject({
      state: 'failed',
      error: 'ONNX parity check failed: 3 of 30 labels differ',
    });
    expect(await countOf('rejected')).toBe(before + 1);
    expect(warn).toHaveBeenCalledWith(
      `${job.envelope.messageId}: rejected at step 'parity check': ONNX parity check failed: 3 of 30 labels differ`,
    );
    warn.mockRestore();
  });

  it('says so when the registry stayed unreachable; the failure is not permanent', async () => {
    const down = serviceError('registry', null, 'connect ECONNREFUSED 127.0.0.1:3002');
    const job = setUp(failingAt('register', down));
    const failure = await job.run().catch((error: unknown) => error);
    expect(failure).toMatchObject({
      message: `registry unavailable, gave up: ${down.message}`,
      permanent: false,
    });
    expect(job.finished()[0]).toMatchObject({ status: 'failed', tags: {} });
  });

  it('records no run when the job fails before its run is opened', async () => {
    const job = setUp(failingAt('resolve-data', new Error('No TensorFlow.js backend could start'), false));
    await expect(job.run()).rejects.toMatchObject({
      message: 'No TensorFlow.js backend could start',
      permanent: false,
    });
    // No run events: only the job record's step reports (resolve-data started, then failed with the reason).
    expect(job.bus.envelopes.filter((e) => e.type !== EventNames.JobStepChanged)).toEqual([]);
    expect(
      job.bus.of(EventNames.JobStepChanged).map((e) => [e.payload.step, e.payload.state, e.payload.error]),
    ).toEqual([
      ['resolve-data', 'running', undefined],
      ['resolve-data', 'failed', 'No TensorFlow.js backend could start'],
    ]);
    expect(job.view()).toMatchObject({ state: 'failed', error: 'No TensorFlow.js backend could start' });
  });

  it('fails the job for the reason the failure could not be recorded, when the broker is gone', async () => {
    const job = setUp(async (hooks) => {
      await hooks.openRun.open({ plan: undefined, version: VERSION, backend: 'cpu' });
      job.bus.failure = new Error('channel closed');
      throw new JobRejectedError('dataset too small for the split');
    });
    await expect(job.run()).rejects.toMatchObject({ message: 'channel closed', permanent: false });
    expect(job.view()).toMatchObject({ state: 'failed', error: 'channel closed' });
  });

  it('on redelivery, fails the runs the lost attempt left running, then runs under a new parent run id', async () => {
    const job = setUp(async () => 'done');
    const jobId = job.envelope.messageId;
    const [lostParent, lostChild, doneChild] = [randomUUID(), randomUUID(), randomUUID()];
    job.registry.runs.push(
      runView({ id: lostParent, tags: { job_id: jobId }, status: 'running' }),
      runView({ id: lostChild, parentRunId: lostParent, status: 'running' }),
      runView({ id: doneChild, parentRunId: lostParent, status: 'finished' }),
    );
    await job.run({ redelivered: true, attempt: 1 });
    expect(job.finished().map((run) => [run.runId, run.status, run.error])).toEqual([
      [firstAttemptRunId(jobId), 'failed', WORKER_LOST],
      [lostParent, 'failed', WORKER_LOST],
      [lostChild, 'failed', WORKER_LOST],
    ]);
    expect(job.pipeline.jobs[0].parentRunId).not.toBe(firstAttemptRunId(jobId));
  });
});
