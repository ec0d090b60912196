/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventNames, JobView } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { deleteNamespace, uniqueNamespace, waitFor } from '@sepal/testing';
import {
  AMQP_URL,
  getJson,
  importIris,
  runsOf,
  Services,
  startServices,
  startTrainer,
} from './support/services';

jest.setTimeout(180_000);

/**
 * TRAINER_TRIALS=queue: two trainer replicas (one worker thread each) share the trials of one grid through the work
 * queue trainer.trials, on the real broker and on the in-process bus.
 */
describe.each(['real services', 'embedded adapters'] as const)('trials over replicas on %s', (mode) => {
  const real = mode === 'real services';
  let services: Services;
  let namespace: string;
  const trainers: NestFastifyApplication[] = [];

  beforeAll(async () => {
    namespace = uniqueNamespace('trials_queue');
    services = await startServices(namespace, { real });
    await importIris(services);
    for (const replica of ['replica-a', 'replica-b']) {
      trainers.push(
        await startTrainer(services, {
          TF_BACKEND: 'cpu',
          TRAINER_TRIALS: 'queue',
          TRAINER_WORKERS: '1',
          TRAINER_REPLICA_ID: replica,
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const trainer of trainers) await trainer.close();
    await services?.close();
    if (real) await deleteNamespace(AMQP_URL, namespace, ['trainer.trials']);
  });

  it('trains the trials of one grid on both replicas, selects when all have reported, and registers once', async () => {
    const jobId = await trainers[0].get(EventBus).publish(EventNames.TrainRequested, {
      dataset: 'iris',
      modelName: `queued-${real ? 'real' : 'embedded'}`,
      grid: { learningRate: [0.01, 0.02, 0.05, 0.1] },
      params: { epochs: 30, earlyStoppingPatience: 0, hiddenUnits: 8 },
    });
    await waitFor(
      async () => {
        const view = await getJson<JobView>(`${services.registryUrl}/jobs/${jobId}`).catch(() => undefined);
        const state = view?.state;
        return state === 'succeeded' || state === 'failed';
      },
      { timeoutMs: 150_000, intervalMs: 250, description: `job ${jobId} to succeed` },
    );
    const job = await getJson<JobView>(`${services.registryUrl}/jobs/${jobId}`);
    expect(job.error).toBeNull();
    expect(job.steps.find((step) => step.step === 'train-trials')?.summary).toMatchObject({
      trials: 4,
      finished: 4,
    });
    let trials: Awaited<ReturnType<typeof runsOf>> = [];
    await waitFor(async () => {
      trials = await runsOf(services.registryUrl, `tags.job_id = '${jobId}' AND tags.role = 'trial'`);
      return trials.length === 4 && trials.every((trial) => trial.status === 'finished');
    });
    const replicas = new Set(trials.map((trial) => trial.tags.trainer_replica));
    expect([...replicas].sort()).toEqual(['replica-a', 'replica-b']);
    // Every trial's epochs reached its child run through the replies.
    for (const trial of trials) expect(trial.metrics.epoch).toBe(30);
    const model = await getJson<{ versions: unknown[] }>(`${services.registryUrl}/models/${job.modelName}`);
    expect(model.versions).toHaveLength(1);
    expect(await trainers[0].get(EventBus).deadLetterCount('trainer.trials')).toBe(0);
  });
});
