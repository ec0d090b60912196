import { EventNames, JobView, ModelView, RunView } from '@sepal/contracts';
import { createEventBus, EventBus } from '@sepal/messaging';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { firstAttemptRunId } from '../../apps/trainer/src';
import { AMQP_URL, getJson, importIris, runsOf, Services, startServices } from './support/services';
import { startTrainerProcess, TrainerProcess } from './support/trainer-process';

jest.setTimeout(200_000);

/**
 * Two trainer processes on one queue (real RabbitMQ and PostgreSQL); the one running the job is SIGKILLed, or
 * SIGTERMed, mid-training, and the other finishes the job, once.
 */
describe('two trainer processes, one stopped mid-job', () => {
  let services: Services;
  let namespace: string;
  let bus: EventBus;
  const workers: TrainerProcess[] = [];

  const jobOf = (jobId: string) => getJson<JobView>(`${services.registryUrl}/jobs/${jobId}`);

  /** Publishes a two-trial job and answers it once a replica is a few epochs into it, with that replica. */
  async function jobInTraining(modelName: string, pool: TrainerProcess[]) {
    const jobId = await bus.publish(EventNames.TrainRequested, {
      dataset: 'iris',
      modelName,
      grid: { learningRate: [0.01, 0.05] },
      params: { epochs: 60, earlyStoppingPatience: 0 },
    });
    let victim: TrainerProcess | undefined;
    await waitFor(
      async () => {
        const job = await jobOf(jobId).catch(() => undefined);
        const training = job?.steps.find((step) => step.step === 'train-trials');
        if (training?.state !== 'running') return false;
        const trials = await runsOf(services.registryUrl, `tags.job_id = '${jobId}' AND tags.role = 'trial'`);
        if (!trials.some((trial) => (trial.metrics.epoch ?? 0) >= 3)) return false;
        victim = pool.find((worker) => worker.name === training.worker);
        return victim !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: 'a worker a few epochs into the job' },
    );
    const stopped = victim as TrainerProcess;
    return { jobId, victim: stopped, survivor: pool.find((worker) => worker !== stopped) as TrainerProcess };
  }

  /** The job succeeded on `survivor`, the lost attempt's runs are failed, and exactly one version was registered. */
  async function expectFinishedOnceBy(jobId: string, modelName: string, survivor: TrainerProcess) {
    await waitFor(async () => (await jobOf(jobId)).state === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 250,
      description: 'the surviving worker to finish the job',
    });
    const job = await jobOf(jobId);
    expect(job.steps.find((step) => step.step === 'promote')?.worker).toBe(survivor.name);
    expect(job.attempt).toBe(1);

    const lostRunId = firstAttemptRunId(jobId);
    await waitFor(
      async () => {
        const lost = await getJson<RunView>(`${services.registryUrl}/runs/${lostRunId}`);
        return lost.status === 'failed' && lost.error === 'worker lost mid-job';
      },
      { timeoutMs: 20_000, description: 'the lost attempt marked failed' },
    );
    const parents = await runsOf(services.registryUrl, `tags.job_id = '${jobId}' AND tags.role = 'sweep'`);
    expect(parents.map((run) => run.status).sort()).toEqual(['failed', 'finished']);
    const retry = parents.find((run) => run.status === 'finished') as RunView;
    expect(retry.tags.redelivered).toBe('true');
    await waitFor(async () => {
      const lostChildren = await getJson<{ runs: RunView[] }>(
        `${services.registryUrl}/runs?parentRunId=${lostRunId}`,
      );
      return lostChildren.runs.every((run) => run.status !== 'running');
    });
    const model = await getJson<ModelView & { versions: unknown[] }>(
      `${services.registryUrl}/models/${modelName}`,
    );
    expect(model.versions).toHaveLength(1);
    expect(await bus.deadLetterCount('trainer.jobs')).toBe(0);
  }

  beforeAll(async () => {
    namespace = uniqueNamespace('trainer_failover');
    services = await startServices(namespace, { real: true });
    await importIris(services);
    bus = createEventBus({ amqpUrl: AMQP_URL, namespace, serviceName: 'failover-test' });
  }, 120_000);

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      worker.process.kill('SIGKILL');
      await worker.exited;
    }
  });

  afterAll(async () => {
    await bus?.close();
    await services?.close();
  });

  it('redelivers the job of a SIGKILLed worker to the survivor, marks the lost attempt failed and registers one version', async () => {
    workers.push(
      ...(await Promise.all([
        startTrainerProcess('kill-a', services, namespace),
        startTrainerProcess('kill-b', services, namespace),
      ])),
    );
    const { jobId, victim, survivor } = await jobInTraining('failover-classifier', workers);
    victim.process.kill('SIGKILL');
    await expectFinishedOnceBy(jobId, 'failover-classifier', survivor);
  });

  it('SIGTERM mid-training: the worker exits within 10 s, its job goes back to the queue and the other finishes it', async () => {
    workers.push(
      ...(await Promise.all([
        startTrainerProcess('term-a', services, namespace),
        startTrainerProcess('term-b', services, namespace),
      ])),
    );
    const { jobId, victim, survivor } = await jobInTraining('graceful-classifier', workers);
    const signalled = Date.now();
    victim.process.kill('SIGTERM');
    await victim.exited;
    const exitMs = Date.now() - signalled;
    expect(exitMs).toBeLessThan(10_000);
    // Handed back at once, not after the broker noticed a dead connection: the survivor is training it already.
    await expectFinishedOnceBy(jobId, 'graceful-classifier', survivor);
    const job = await jobOf(jobId);
    expect(job.steps.find((step) => step.step === 'train-trials')?.worker).toBe(survivor.name);
  });
});
