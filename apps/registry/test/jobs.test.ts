import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  EventEnvelope,
  EventNames,
  JOB_STEPS,
  JobStepChanged,
  JobStepId,
  JobView,
  TrainRequested,
} from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, TestDatabase } from '../../../libs/testing/src/test-database';
import { createTestBus, deleteNamespace, sleep, uniqueNamespace, waitFor } from '@sepal/testing';
import { startRegistryApp } from '../src/bootstrap';
import { RegistryConfig } from '../src/registry.config';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const API_KEY = 'jobs-test-admin-key';
const PARENT_RUN = randomUUID();
const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (second: number) => new Date(T0 + second * 1000).toISOString();

/** A seeded permutation (a linear congruential generator), so a failing order can be replayed. */
function permuted<T>(items: T[], seed: number): T[] {
  let state = seed;
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** The reports of a trainer running every step of attempt 1 in turn, registering `version` of iris-classifier. */
function reportsOfRun(jobId: string, version: number): JobStepChanged[] {
  let sequence = 0;
  return JOB_STEPS.filter((step) => step !== 'served').flatMap((step, i) =>
    (['running', 'succeeded'] as const).map((state, end): JobStepChanged => ({
      jobId,
      step,
      state,
      attempt: 1,
      sequence: ++sequence,
      at: at(10 * i + 5 * end),
      worker: `trainer-${i % 2}`,
      ...(step === 'train-trials' ? { parentRunId: PARENT_RUN } : {}),
      summary:
        step === 'register' && state === 'succeeded'
          ? { modelName: 'iris-classifier', modelVersion: version }
          : { index: i },
    })),
  );
}

jest.setTimeout(60_000);

describe.each(['real services', 'embedded adapters'] as const)('registry jobs on %s', (mode) => {
  const real = mode === 'real services';
  /** Two registry replicas on one database: one takes the events, the other answers. */
  const apps: NestFastifyApplication[] = [];
  let db: TestDatabase | undefined;
  let namespace: string;
  let modelsDir: string;
  let testBus: EventBus;
  let subscription: Subscription;
  const heard: EventEnvelope[] = [];

  const http = (
    replica: 0 | 1,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    headers: Record<string, string> = { 'x-api-key': API_KEY },
  ) => apps[replica].getHttpAdapter().getInstance().inject({ method, url, headers });
  const job = async (id: string, replica: 0 | 1 = 1) =>
    (await http(replica, 'GET', `/jobs/${id}`)).json() as JobView;
  const step = (view: JobView, id: JobStepId) => view.steps.find((s) => s.step === id)!;
  const requestTraining = (payload: Partial<TrainRequested>, messageId = randomUUID()) =>
    testBus.publish(
      EventNames.TrainRequested,
      { dataset: 'iris', modelName: 'iris-classifier', ...payload },
      {
        messageId,
        correlationId: `corr-${messageId}`,
      },
    );
  const heardOf = <N extends typeof EventNames.JobCancelRequested | typeof EventNames.TrainRequested>(
    type: N,
    jobId: string,
  ) =>
    heard.filter(
      (e) => e.type === type && (e.payload as { jobId?: string }).jobId === jobId,
    ) as EventEnvelope<N>[];

  beforeAll(async () => {
    namespace = uniqueNamespace('jobs');
    db = real ? await createTestDatabase() : undefined;
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-models-'));
    const config = RegistryConfig.load({
      DATABASE_URL: db?.url,
      AMQP_URL: real ? AMQP_URL : undefined,
      SEPAL_HOME: `memory://registry-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      SEPAL_API_KEY: API_KEY,
      SEPAL_API_KEY_NAME: 'jobs-admin',
      MODELS_DIR: modelsDir,
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
      LOG_LEVEL: 'error',
    });
    // One after the other: the second finds the migrations applied.
    apps.push(await startRegistryApp(config, { listen: false }));
    apps.push(await startRegistryApp(config, { listen: false }));
    testBus = createTestBus(namespace, real ? AMQP_URL : undefined);
    subscription = await testBus.subscribe(
      { queue: 'test.jobs', patterns: [EventNames.JobCancelRequested, EventNames.TrainRequested] },
      async (envelope) => {
        heard.push(envelope);
      },
    );
  }, 90_000);

  afterAll(async () => {
    await subscription?.close();
    await testBus?.close();
    for (const app of apps) await app.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
    if (real) await deleteNamespace(AMQP_URL, namespace, ['registry.jobs', 'registry.training', 'test.jobs']);
  });

  const finishedJob = randomUUID();

  it('records a job from its request and step reports in any order, and another replica reads it', async () => {
    const reports = reportsOfRun(finishedJob, 3);
    // The request (named by its message id), every report, and a redelivery of two of them, shuffled.
    const deliveries: (JobStepChanged | 'request')[] = [...reports, reports[2], reports[11], 'request'];
    for (const delivery of permuted(deliveries, 7)) {
      if (delivery === 'request') await requestTraining({ requestedBy: 'alice' }, finishedJob);
      else await testBus.publish(EventNames.JobStepChanged, delivery, { correlationId: 'trainer' });
    }
    const converged = (view: JobView) => {
      expect(view).toMatchObject({
        id: finishedJob,
        state: 'succeeded',
        reason: 'manual',
        requestedBy: 'alice',
        correlationId: `corr-${finishedJob}`,
        attempt: 1,
        parentRunId: PARENT_RUN,
        modelName: 'iris-classifier',
        modelVersion: 3,
        request: { dataset: 'iris', jobId: finishedJob, attempt: 1 },
        startedAt: at(0),
        endedAt: at(95),
        error: null,
        cancelRequested: false,
      });
      JOB_STEPS.filter((id) => id !== 'served').forEach((id, i) =>
        expect(step(view, id)).toMatchObject({
          state: 'succeeded',
          attempt: 1,
          startedAt: at(10 * i),
          endedAt: at(10 * i + 5),
          worker: `trainer-${i % 2}`,
        }),
      );
      expect(step(view, 'served').state).toBe('pending');
      return true;
    };
    // waitFor counts a failed expectation as "not yet" and reports the last one on timeout.
    await waitFor(async () => converged(await job(finishedJob, 1)), {
      timeoutMs: 20_000,
      description: 'the job to converge',
    });
    const fromSecond = await job(finishedJob, 1);
    expect(await job(finishedJob, 0)).toEqual(fromSecond);
    // Every report was applied on first delivery: none retried, none dead-lettered.
    expect(await apps[0].get(EventBus).deadLetterCount('registry.jobs')).toBe(0);
  });

  it('completes the served step when gateway replicas serve the version', async () => {
    for (const replica of ['gw-2', 'gw-1']) {
      await testBus.publish(EventNames.ModelServed, {
        modelName: 'iris-classifier',
        version: 3,
        sha256: 'c'.repeat(64),
        replica,
        at: at(100),
      });
    }
    await waitFor(async () => step(await job(finishedJob), 'served').summary.replicaCount === 2, {
      timeoutMs: 10_000,
      description: 'the served step with two replicas',
    });
    expect(step(await job(finishedJob), 'served')).toMatchObject({
      state: 'succeeded',
      endedAt: at(100),
      summary: { replicas: 'gw-1,gw-2', replicaCount: 2 },
    });
  });

  it('cancels a queued job at once and a running one through its trainer, announcing both on the bus', async () => {
    const queued = randomUUID();
    const running = randomUUID();
    await requestTraining({}, queued);
    await requestTraining({}, running);
    await testBus.publish(EventNames.JobStepChanged, { ...reportsOfRun(running, 1)[0] });
    await waitFor(
      async () => (await job(running)).state === 'running' && (await job(queued)).state === 'queued',
      {
        timeoutMs: 10_000,
      },
    );

    expect((await http(0, 'DELETE', `/jobs/${queued}`, {})).statusCode).toBe(401);
    // Who cancels is the calling key (the bootstrap admin), never a name the request gives.
    expect((await http(0, 'DELETE', `/jobs/${queued}?by=bob`)).statusCode).toBe(400);
    const cancelled = await http(0, 'DELETE', `/jobs/${queued}`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ state: 'cancelled', cancelRequested: true });
    const cancelling = await http(0, 'DELETE', `/jobs/${running}`);
    expect(cancelling.statusCode).toBe(202);
    expect(cancelling.json().state).toBe('cancelling');
    expect((await job(running)).state).toBe('cancelling');

    await waitFor(
      () =>
        heardOf(EventNames.JobCancelRequested, queued).length +
          heardOf(EventNames.JobCancelRequested, running).length ===
        2,
      { timeoutMs: 10_000, description: 'two job.cancel-requested' },
    );
    expect(heardOf(EventNames.JobCancelRequested, queued)[0]).toMatchObject({
      correlationId: `corr-${queued}`,
      payload: { jobId: queued, requestedBy: 'jobs-admin' },
    });

    // The trainer stops the running step.
    await testBus.publish(EventNames.JobStepChanged, {
      ...reportsOfRun(running, 1)[0],
      state: 'cancelled',
      sequence: 99,
      at: at(3),
    });
    await waitFor(async () => (await job(running)).state === 'cancelled', { timeoutMs: 10_000 });
    expect(await job(running)).toMatchObject({ endedAt: at(3), error: 'resolve-data: cancelled' });

    const ended = await http(1, 'DELETE', `/jobs/${finishedJob}`);
    expect(ended.statusCode).toBe(409);
    expect(ended.json().message).toMatch(/has already succeeded/);
    const unknown = await http(1, 'DELETE', '/jobs/no-such-job');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toContain("'no-such-job'");
    expect((await http(1, 'GET', '/jobs/no-such-job')).statusCode).toBe(404);
  });

  it('retries a failed job as attempt 2 with its original request on the bus; refuses others with 409', async () => {
    const failed = randomUUID();
    await requestTraining({ grid: { learningRate: [0.01, 0.1] }, seed: 7 }, failed);
    const [resolveRunning, resolveDone, trialsRunning] = reportsOfRun(failed, 1);
    for (const report of [resolveRunning, resolveDone, trialsRunning]) {
      await testBus.publish(EventNames.JobStepChanged, report);
    }
    await testBus.publish(EventNames.JobStepChanged, {
      ...trialsRunning,
      state: 'failed',
      sequence: 10,
      error: 'worker thread exited',
    });
    await waitFor(async () => (await job(failed)).state === 'failed', { timeoutMs: 10_000 });
    expect((await job(failed)).error).toBe('train-trials: worker thread exited');

    expect((await http(0, 'POST', `/jobs/${failed}/retry`, {})).statusCode).toBe(401);
    const retried = await http(0, 'POST', `/jobs/${failed}/retry`);
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ state: 'queued', attempt: 2, error: null });
    expect(step(retried.json(), 'resolve-data')).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(step(retried.json(), 'train-trials')).toMatchObject({ state: 'pending', attempt: 2 });

    await waitFor(() => heardOf(EventNames.TrainRequested, failed).length === 1, {
      timeoutMs: 10_000,
      description: 'the retry train.requested',
    });
    const [event] = heardOf(EventNames.TrainRequested, failed);
    expect(event.correlationId).toBe(`corr-${failed}`);
    expect(event.payload).toMatchObject({
      dataset: 'iris',
      modelName: 'iris-classifier',
      grid: { learningRate: [0.01, 0.1] },
      seed: 7,
      jobId: failed,
      attempt: 2,
    });
    // The registry's own consumer hears that request too: the job stays as the retry left it.
    await sleep(500);
    expect(await job(failed)).toMatchObject({ state: 'queued', attempt: 2 });

    const again = await http(1, 'POST', `/jobs/${failed}/retry`);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/is queued: only a failed or cancelled job can be retried/);
    expect((await http(1, 'POST', `/jobs/${finishedJob}/retry`)).statusCode).toBe(409);
  });

  it('lists jobs newest first, by state and dataset, in pages, as /docs describes', async () => {
    const wine = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of wine) {
      await requestTraining({ dataset: 'wine' }, id);
      await waitFor(async () => (await http(1, 'GET', `/jobs/${id}`)).statusCode === 200, {
        timeoutMs: 10_000,
      });
    }
    const list = async (query: string) => {
      const response = await http(1, 'GET', `/jobs?${query}`);
      expect(response.statusCode).toBe(200);
      return response.json() as { jobs: JobView[]; nextPageToken: string | null };
    };
    const first = await list('dataset=wine&maxResults=2');
    const second = await list(`dataset=wine&maxResults=2&pageToken=${first.nextPageToken}`);
    expect([...first.jobs, ...second.jobs].map((j) => j.id)).toEqual([...wine].reverse());
    expect(second.nextPageToken).toBeNull();

    const succeeded = await list('state=succeeded');
    expect(succeeded.jobs.map((j) => j.id)).toEqual([finishedJob]);
    expect((await list('state=queued&dataset=iris')).jobs.every((j) => j.state === 'queued')).toBe(true);
    const all = (await list('maxResults=1000')).jobs.map((j) => Date.parse(j.createdAt));
    expect(all).toEqual([...all].sort((a, b) => b - a));

    expect((await http(1, 'GET', '/jobs?state=stuck')).statusCode).toBe(400);
    expect((await http(1, 'GET', '/jobs?maxResults=0')).statusCode).toBe(400);
    const docs = (await http(1, 'GET', '/docs/json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(docs.paths['/jobs'])).toEqual(['get']);
    expect(Object.keys(docs.paths['/jobs/{id}']).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(docs.paths['/jobs/{id}/retry'])).toEqual(['post']);

    const badToken = await http(1, 'GET', '/jobs?pageToken=bm9wZQ');
    expect(badToken.statusCode).toBe(400);
    expect(badToken.json().message).toMatch(/invalid pageToken/);
  });
});
