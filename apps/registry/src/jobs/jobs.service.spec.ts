/** JobsService: jobs from train.requested and the trainers' step reports, their states and the job list. */
import { InvalidInputError, JOB_STEPS, JobStepChanged, JobView, ModelServed } from '@sepal/contracts';
import { JobsService } from './jobs.service';
import {
  at,
  FakeJobsRepository,
  jobsOnFakes,
  RequestJob,
  PARENT_RUN,
  report,
  request,
  restartSequence,
  shuffled,
  stepOf,
  successfulRun,
  withoutCreatedAt,
} from '../../test/fakes/jobs-fakes';

describe('JobsService', () => {
  let repository: FakeJobsRepository, service: JobsService, requested: RequestJob;
  beforeEach(() => void ({ repository, service, requested } = jobsOnFakes()));
  afterEach(() => jest.restoreAllMocks());

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
    restartSequence();
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
    restartSequence(100);
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
