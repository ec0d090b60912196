import { Logger } from '@nestjs/common';
import {
  ConflictError,
  EventName,
  EventNames,
  InvalidInputError,
  JOB_STEPS,
  JobStepChanged,
  JobStepId,
  JobStepState,
  JobView,
  ModelServed,
  NotFoundError,
  trainRequestedSchema,
  UnprocessableError,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { JobWithSteps, ServingReplica } from './job-record';
import { JobFilter, JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

type Store = { [K in keyof JobsRepository]: JobsRepository[K] };

/** Jobs, steps, serving replicas and the outbox in memory, with the repository's semantics. */
class FakeJobsRepository implements Store {
  readonly jobs = new Map<string, JobWithSteps>();
  readonly serving = new Map<string, ServingReplica[]>();
  readonly outbox: { type: EventName; payload: unknown; correlationId?: string }[] = [];

  async insertJob(_tx: Transaction, record: JobWithSteps) {
    if (this.jobs.has(record.job.id)) return false;
    this.jobs.set(record.job.id, structuredClone(record));
    return true;
  }
  async lockJob(_tx: Transaction, id: string) {
    return this.findJob(id);
  }
  async findJob(id: string) {
    const found = this.jobs.get(id);
    return found ? structuredClone(found) : null;
  }
  async jobExists(id: string) {
    return this.jobs.has(id);
  }
  async listJobs(filter: JobFilter) {
    const all = [...this.jobs.values()]
      .filter(
        ({ job }) =>
          (!filter.state || job.state === filter.state) &&
          (!filter.dataset || job.dataset === filter.dataset),
      )
      .sort((a, b) => b.job.createdAt.localeCompare(a.job.createdAt) || b.job.id.localeCompare(a.job.id));
    const start = filter.afterId ? all.findIndex(({ job }) => job.id === filter.afterId) + 1 : 0;
    return structuredClone(all.slice(start, start + filter.limit));
  }
  async saveJob(_tx: Transaction, job: JobWithSteps['job']) {
    this.jobs.get(job.id)!.job = structuredClone(job);
  }
  async saveSteps(_tx: Transaction, jobId: string, steps: JobWithSteps['steps']) {
    const record = this.jobs.get(jobId)!;
    for (const step of steps) {
      record.steps = [...record.steps.filter((s) => s.step !== step.step), structuredClone(step)];
    }
  }
  async jobsOfModelVersion(_tx: Transaction, modelName: string, version: number) {
    return [...this.jobs.values()]
      .filter(({ job }) => job.modelName === modelName && job.modelVersion === version)
      .map(({ job }) => job.id);
  }
  async recordServing(_tx: Transaction, served: ModelServed) {
    const key = `${served.modelName}@${served.version}`;
    const others = (this.serving.get(key) ?? []).filter((r) => r.replica !== served.replica);
    const earlier = this.serving.get(key)?.find((r) => r.replica === served.replica);
    const servedAt = earlier && earlier.servedAt < served.at ? earlier.servedAt : served.at;
    this.serving.set(key, [...others, { replica: served.replica, servedAt }]);
  }
  async servingReplicas(_tx: Transaction, modelName: string, version: number) {
    return this.serving.get(`${modelName}@${version}`) ?? [];
  }
  async enqueue(
    _tx: Transaction,
    type: EventName,
    payload: unknown,
    options: { correlationId?: string } = {},
  ) {
    this.outbox.push({ type, payload, correlationId: options.correlationId });
    return `m${this.outbox.length}`;
  }
}

const transactions: TransactionRunner = { run: (work) => work(fakeTransaction()) };
const outboxRelay = { flush: async () => 0 } as unknown as OutboxRelay;

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (second: number) => new Date(T0 + second * 1000).toISOString();
const PARENT_RUN = '6f0c3a52-1d3e-4d7b-9a35-2f6a4c1b8e01';
const request = (extra: Record<string, unknown> = {}) =>
  trainRequestedSchema.parse({
    dataset: 'iris',
    modelName: 'iris-classifier',
    requestedBy: 'alice',
    ...extra,
  });

let sequence = 0;
/** A trainer's report; sequences grow in the order reports are made (not the order they arrive). */
function report(
  jobId: string,
  step: JobStepId,
  state: JobStepState,
  second: number,
  extra: Partial<JobStepChanged> = {},
): JobStepChanged {
  return {
    jobId,
    step,
    state,
    attempt: 1,
    sequence: ++sequence,
    at: at(second),
    worker: 'trainer-1',
    summary: {},
    ...extra,
  };
}

/** Every report of a job that runs each step in turn, registers v3, passes the gate and is promoted. */
function successfulRun(jobId: string): JobStepChanged[] {
  sequence = 0;
  const facts: Partial<Record<JobStepId, Partial<JobStepChanged>>> = {
    'train-trials': { parentRunId: PARENT_RUN, summary: { trials: 4 } },
    register: { summary: { modelName: 'iris-classifier', modelVersion: 3 } },
    gate: { summary: { decision: 'promote' } },
  };
  return JOB_STEPS.filter((s) => s !== 'served').flatMap((step, i) => [
    report(jobId, step, 'running', 10 * i),
    report(jobId, step, 'succeeded', 10 * i + 5, facts[step]),
  ]);
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const stepOf = (view: Pick<JobView, 'steps'>, step: JobStepId) => view.steps.find((s) => s.step === step)!;
const withoutCreatedAt = ({ createdAt: _createdAt, ...rest }: JobView) => rest;

describe('JobsService', () => {
  let repository: FakeJobsRepository;
  let service: JobsService;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    repository = new FakeJobsRepository();
    service = new JobsService(repository as unknown as JobsRepository, transactions, outboxRelay);
  });
  afterEach(() => jest.restoreAllMocks());

  const requested = (jobId: string, extra: Record<string, unknown> = {}) =>
    service.onTrainRequested(request({ jobId, ...extra }), `msg-${jobId}`, `corr-${jobId}`);

  it('creates a queued job with every step pending, named by the message id when the request carries none', async () => {
    await service.onTrainRequested(request(), 'message-1', 'corr-1');
    const job = await service.getJob('message-1');
    expect(job).toMatchObject({
      id: 'message-1',
      state: 'queued',
      dataset: 'iris',
      reason: 'manual',
      requestedBy: 'alice',
      correlationId: 'corr-1',
      attempt: 1,
      modelName: 'iris-classifier',
      request: { dataset: 'iris', jobId: 'message-1', attempt: 1 },
      startedAt: null,
      endedAt: null,
      cancelRequested: false,
    });
    expect(job.steps.map((s) => [s.step, s.state])).toEqual(JOB_STEPS.map((step) => [step, 'pending']));
  });

  it('converges to the same record whatever order the reports and the request arrive in', async () => {
    const events = successfulRun('job');
    // Redeliveries of two reports travel too.
    const deliveries = [...events, events[3], events[12], 'request' as const];
    const views: Omit<JobView, 'createdAt'>[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      repository.jobs.clear();
      for (const delivery of shuffled(deliveries, seed)) {
        if (delivery === 'request') await requested('job');
        else await service.onStepChanged(delivery, 'corr-from-trainer');
      }
      views.push(withoutCreatedAt(await service.getJob('job')));
    }
    for (const view of views.slice(1)) expect(view).toEqual(views[0]);
    const view = views[0];
    expect(view).toMatchObject({
      state: 'succeeded',
      correlationId: 'corr-job',
      dataset: 'iris',
      parentRunId: PARENT_RUN,
      modelName: 'iris-classifier',
      modelVersion: 3,
      startedAt: at(0),
      endedAt: at(95),
      error: null,
    });
    expect(stepOf(view, 'train-trials')).toMatchObject({
      state: 'succeeded',
      startedAt: at(10),
      endedAt: at(15),
      worker: 'trainer-1',
      summary: { trials: 4 },
    });
    expect(stepOf(view, 'served').state).toBe('pending');
  });

  it('keeps a step report that overtakes its train.requested, then fills the job in', async () => {
    await service.onStepChanged(report('early', 'resolve-data', 'running', 1), 'corr-trainer');
    expect(await service.getJob('early')).toMatchObject({
      state: 'running',
      dataset: '',
      correlationId: 'corr-trainer',
    });
    await requested('early');
    expect(await service.getJob('early')).toMatchObject({
      state: 'running',
      dataset: 'iris',
      correlationId: 'corr-early',
      request: { dataset: 'iris' },
    });
  });

  it('derives running, failed, cancelled and succeeded from the steps', async () => {
    const states = async (id: string, reports: JobStepChanged[]) => {
      await requested(id);
      const seen = [(await service.getJob(id)).state];
      for (const r of reports) {
        await service.onStepChanged(r, 'c');
        seen.push((await service.getJob(id)).state);
      }
      return seen;
    };
    sequence = 0;
    expect(
      await states('fails', [
        report('fails', 'resolve-data', 'succeeded', 1),
        report('fails', 'train-trials', 'failed', 2, { error: 'out of memory' }),
      ]),
    ).toEqual(['queued', 'running', 'failed']);
    expect(await service.getJob('fails')).toMatchObject({
      error: 'train-trials: out of memory',
      endedAt: at(2),
    });

    expect(
      await states('stopped', [
        report('stopped', 'train-trials', 'running', 1),
        report('stopped', 'train-trials', 'cancelled', 2),
      ]),
    ).toEqual(['queued', 'running', 'cancelled']);

    // A rejecting gate: promote skipped. It only counts once the gate has ended.
    expect(
      await states('rejected', [
        report('rejected', 'promote', 'skipped', 9),
        report('rejected', 'gate', 'running', 8),
        report('rejected', 'gate', 'succeeded', 8.5, { summary: { decision: 'reject' } }),
      ]),
    ).toEqual(['queued', 'running', 'running', 'succeeded']);
  });

  it('completes the served step from model.served, before or after the job knows its version', async () => {
    await requested('served');
    for (const r of successfulRun('served')) await service.onStepChanged(r, 'c');
    const served = (replica: string, second: number): ModelServed => ({
      modelName: 'iris-classifier',
      version: 3,
      sha256: 'a'.repeat(64),
      replica,
      at: at(second),
    });
    await service.onModelServed(served('gw-2', 100));
    await service.onModelServed(served('gw-1', 101));
    await service.onModelServed(served('gw-1', 102)); // the replica restarted: it keeps its first time
    expect(stepOf(await service.getJob('served'), 'served')).toMatchObject({
      state: 'succeeded',
      startedAt: at(100),
      endedAt: at(100),
      summary: { replicas: 'gw-1,gw-2', replicaCount: 2 },
    });
    expect((await service.getJob('served')).state).toBe('succeeded');

    // Served before the register report reaches the registry: recorded, and applied when the version is known.
    await service.onModelServed({ ...served('gw-1', 200), version: 4 });
    await requested('later');
    sequence = 100;
    await service.onStepChanged(
      report('later', 'register', 'succeeded', 150, {
        summary: { modelName: 'iris-classifier', modelVersion: 4 },
      }),
      'c',
    );
    expect(stepOf(await service.getJob('later'), 'served')).toMatchObject({
      state: 'succeeded',
      summary: { replicas: 'gw-1', replicaCount: 1 },
    });
  });

  describe('cancel', () => {
    it('cancels a job no trainer started at once, and still announces it', async () => {
      await requested('queued');
      const view = await service.cancelJob('queued', 'bob');
      expect(view).toMatchObject({ state: 'cancelled', cancelRequested: true });
      expect(view.endedAt).not.toBeNull();
      expect(view.steps.every((s) => s.state === 'cancelled')).toBe(true);
      expect(repository.outbox).toEqual([
        {
          type: EventNames.JobCancelRequested,
          payload: { jobId: 'queued', requestedBy: 'bob', at: expect.any(String) },
          correlationId: 'corr-queued',
        },
      ]);
    });

    it('marks a running job cancelling until its trainer reports the cancelled step', async () => {
      await requested('running');
      sequence = 0;
      await service.onStepChanged(report('running', 'train-trials', 'running', 1), 'c');
      expect(await service.cancelJob('running')).toMatchObject({
        state: 'cancelling',
        cancelRequested: true,
      });
      expect(repository.outbox.map((e) => e.type)).toEqual([EventNames.JobCancelRequested]);
      // Asking again announces it again (a trainer may have missed the broadcast).
      expect((await service.cancelJob('running')).state).toBe('cancelling');
      expect(repository.outbox).toHaveLength(2);
      await service.onStepChanged(report('running', 'train-trials', 'cancelled', 3), 'c');
      expect(await service.getJob('running')).toMatchObject({ state: 'cancelled', endedAt: at(3) });
    });

    it('refuses to cancel a job that has ended (409) or does not exist (404), and emits nothing', async () => {
      await requested('done');
      for (const r of successfulRun('done')) await service.onStepChanged(r, 'c');
      await expect(service.cancelJob('done')).rejects.toThrow(ConflictError);
      await expect(service.cancelJob('nope')).rejects.toThrow(NotFoundError);
      await expect(service.cancelJob('nope')).rejects.toThrow("unknown job 'nope'");
      expect(repository.outbox).toEqual([]);
    });
  });

  describe('retry', () => {
    async function failedJob(id: string) {
      await requested(id, { grid: { learningRate: [0.01, 0.1] } });
      sequence = 0;
      await service.onStepChanged(report(id, 'resolve-data', 'succeeded', 1), 'c');
      await service.onStepChanged(report(id, 'train-trials', 'running', 2, { parentRunId: PARENT_RUN }), 'c');
      await service.onStepChanged(report(id, 'train-trials', 'failed', 3, { error: 'worker died' }), 'c');
    }

    it('runs a failed job again as attempt 2 with its original request, and ignores the old attempt after', async () => {
      await failedJob('f');
      const view = await service.retryJob('f', 'carol');
      expect(view).toMatchObject({
        state: 'queued',
        attempt: 2,
        error: null,
        endedAt: null,
        parentRunId: null,
        requestedBy: 'carol',
      });
      expect(stepOf(view, 'resolve-data')).toMatchObject({ state: 'succeeded', attempt: 1 });
      expect(stepOf(view, 'train-trials')).toMatchObject({ state: 'pending', attempt: 2, error: null });
      expect(repository.outbox).toEqual([
        {
          type: EventNames.TrainRequested,
          payload: expect.objectContaining({
            dataset: 'iris',
            grid: { learningRate: [0.01, 0.1] },
            jobId: 'f',
            attempt: 2,
            requestedBy: 'carol',
          }),
          correlationId: 'corr-f',
        },
      ]);

      // The retry's own train.requested reaches the registry's consumer: nothing changes.
      await service.onTrainRequested(repository.outbox[0].payload as never, 'retry-message', 'corr-f');
      expect(withoutCreatedAt(await service.getJob('f'))).toEqual(withoutCreatedAt(view));
      // A late report of attempt 1 does not count; attempt 2's does.
      await service.onStepChanged(report('f', 'train-trials', 'running', 4), 'c');
      expect((await service.getJob('f')).state).toBe('queued');
      await service.onStepChanged(
        { ...report('f', 'train-trials', 'running', 5), attempt: 2, sequence: 1 },
        'c',
      );
      expect(await service.getJob('f')).toMatchObject({ state: 'running', attempt: 2, startedAt: at(5) });
    });

    const VERSION = 'a'.repeat(64);
    const KEPT = 'b'.repeat(64);
    const ONNX = 'c'.repeat(64);
    /** A job whose steps up to `failAt` succeeded (select keeping its trial unless told not to), then `failAt` failed. */
    async function failedAt(id: string, failAt: JobStepId, options: { kept?: boolean } = {}) {
      await requested(id);
      sequence = 0;
      const summaries: Partial<Record<JobStepId, Record<string, string | number>>> = {
        'resolve-data': { datasetVersion: VERSION, trials: 2 },
        select:
          options.kept === false ? { selected_trial: 1 } : { selected_trial: 1, selected_trial_sha256: KEPT },
        register: { modelName: 'iris-classifier', modelVersion: 4, sha256: ONNX },
      };
      let second = 0;
      for (const step of JOB_STEPS.slice(0, JOB_STEPS.indexOf(failAt))) {
        await service.onStepChanged(
          report(id, step, 'succeeded', ++second, { summary: summaries[step] ?? {} }),
          'c',
        );
      }
      await service.onStepChanged(report(id, failAt, 'failed', ++second, { error: 'registry down' }), 'c');
    }
    const resumeOf = (index: number) => (repository.outbox[index].payload as { resume: unknown }).resume;

    it('resumes from the failed step where the earlier results are kept, and says why in the request', async () => {
      await failedAt('at-export', 'export');
      const view = await service.retryJob('at-export');
      expect(resumeOf(0)).toEqual({
        fromStep: 'evaluate',
        fromAttempt: 1,
        datasetVersion: VERSION,
        selectedTrialSha256: KEPT,
        reason:
          "the job stopped at 'export': the trial selected by attempt 1 is reused (training and selection are skipped)",
      });
      expect(view.request).toMatchObject({ attempt: 2, resume: { fromStep: 'evaluate' } });
      expect(trainRequestedSchema.safeParse(repository.outbox[0].payload).success).toBe(true);

      await failedAt('at-gate', 'gate');
      await service.retryJob('at-gate');
      expect(resumeOf(1)).toMatchObject({
        fromStep: 'gate',
        registered: { modelName: 'iris-classifier', version: 4, sha256: ONNX },
        reason:
          "the job stopped at 'gate': iris-classifier v4 registered by attempt 1 is reused (not registered again); gate and promote run again",
      });
    });

    it('runs from the start when the failure came before selection or the selected trial was not kept', async () => {
      await failedAt('at-trials', 'train-trials');
      await service.retryJob('at-trials');
      expect(resumeOf(0)).toMatchObject({
        fromStep: 'resolve-data',
        reason: "the job stopped at 'train-trials', before a trial was selected: it runs from the start",
      });
      await failedAt('not-kept', 'parity', { kept: false });
      await service.retryJob('not-kept');
      expect(resumeOf(1)).toMatchObject({
        fromStep: 'resolve-data',
        reason:
          "the job stopped at 'parity', but its selected trial was not kept in the artifact store: the trials train again",
      });
    });

    it('retries a cancelled job, and refuses a queued, running or succeeded one with 409', async () => {
      await requested('c');
      await service.cancelJob('c');
      expect((await service.retryJob('c')).state).toBe('queued');
      await expect(service.retryJob('c')).rejects.toThrow(
        /job 'c' is queued: only a failed or cancelled job/,
      );
      await requested('ok');
      for (const r of successfulRun('ok')) await service.onStepChanged(r, 'c');
      await expect(service.retryJob('ok')).rejects.toThrow(ConflictError);
      expect(repository.outbox.map((e) => e.type)).toEqual([
        EventNames.JobCancelRequested,
        EventNames.TrainRequested,
      ]);
    });

    it('moves a job to a later attempt announced by a train.requested from elsewhere', async () => {
      await failedJob('elsewhere');
      await requested('elsewhere', { attempt: 3 });
      expect(await service.getJob('elsewhere')).toMatchObject({ state: 'queued', attempt: 3, error: null });
      // A late copy of the first request does not take it back.
      await requested('elsewhere', { attempt: 1 });
      expect((await service.getJob('elsewhere')).attempt).toBe(3);
    });

    it('cannot retry a job whose request never arrived (422)', async () => {
      sequence = 0;
      await service.onStepChanged(
        report('orphan', 'resolve-data', 'failed', 1, { error: 'no such dataset' }),
        'c',
      );
      await expect(service.retryJob('orphan')).rejects.toThrow(UnprocessableError);
    });
  });

  it('lists jobs newest first, filtered, in pages, and rejects a page token it did not make', async () => {
    for (const id of ['a', 'b', 'c']) await requested(id);
    await requested('w', { dataset: 'wine' });
    const first = await service.listJobs({ dataset: 'iris', maxResults: 2 });
    const ids = (page: { jobs: JobView[] }) => page.jobs.map((j) => j.id);
    expect(first.nextPageToken).not.toBeNull();
    const second = await service.listJobs({
      dataset: 'iris',
      maxResults: 2,
      pageToken: first.nextPageToken!,
    });
    expect([...ids(first), ...ids(second)].sort()).toEqual(['a', 'b', 'c']);
    expect(second.nextPageToken).toBeNull();
    await expect(service.listJobs({ maxResults: 2, pageToken: 'bm9wZQ' })).rejects.toThrow(InvalidInputError);
  });
});
