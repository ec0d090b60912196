import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { EventNames, JobStatusView, ModelView, RunView } from '@sepal/contracts';
import { createEventBus, EventBus } from '@sepal/messaging';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { firstAttemptRunId } from '../../apps/trainer/src';
import { AMQP_URL, getJson, runsOf, Services, startServices } from './support/services';

jest.setTimeout(150_000);

interface Worker {
  process: ChildProcess;
  url: string;
}

/** Two trainer processes on one queue (real RabbitMQ); the one running the job is SIGKILLed mid-training. */
describe('two trainer processes, one killed mid-job', () => {
  let services: Services;
  let namespace: string;
  let bus: EventBus;
  const workers: Worker[] = [];

  const startWorker = (name: string) =>
    new Promise<Worker>((resolve, reject) => {
      const child = spawn(process.execPath, [join(__dirname, 'support/trainer-worker.js')], {
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          AMQP_URL,
          SEPAL_NAMESPACE: namespace,
          DATA_URL: services.dataUrl,
          REGISTRY_URL: services.registryUrl,
          TRAINER_PORT: '0',
          TRAINER_HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          TF_BACKEND: 'cpu',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const ready = /READY (\S+)/.exec(output);
        if (ready) resolve({ process: child, url: ready[1] });
      });
      child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`));
      child.once('exit', (code) =>
        reject(new Error(`${name} exited with ${code} before it was ready: ${output}`)),
      );
    });

  beforeAll(async () => {
    namespace = uniqueNamespace('trainer_failover');
    services = await startServices(namespace, { real: true });
    await services.data
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'POST', url: '/datasets/iris/import', payload: {} });
    bus = createEventBus({ amqpUrl: AMQP_URL, namespace, serviceName: 'failover-test' });
    workers.push(...(await Promise.all([startWorker('worker-a'), startWorker('worker-b')])));
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) worker.process.kill('SIGKILL');
    await bus?.close();
    await services?.close();
  });

  it('redelivers the job to the surviving worker, marks the lost attempt failed and registers one version', async () => {
    const jobId = await bus.publish(EventNames.TrainRequested, {
      dataset: 'iris',
      modelName: 'failover-classifier',
      grid: { learningRate: [0.01, 0.05] },
      params: { epochs: 40, earlyStoppingPatience: 0 },
    });
    // Whoever took the job reports it running; kill it once it is a few epochs in.
    let victim: Worker | undefined;
    await waitFor(
      async () => {
        for (const worker of workers) {
          const response = await fetch(`${worker.url}/jobs/${jobId}`);
          if (!response.ok) continue;
          const job = (await response.json()) as JobStatusView;
          if (job.trials.some((trial) => trial.epoch >= 3)) victim = worker;
        }
        return victim !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, description: 'a worker a few epochs into the job' },
    );
    const killed = victim as Worker;
    killed.process.kill('SIGKILL');
    const survivor = workers.find((worker) => worker !== killed) as Worker;

    await waitFor(
      async () => {
        const response = await fetch(`${survivor.url}/jobs/${jobId}`);
        return response.ok && ((await response.json()) as JobStatusView).state === 'finished';
      },
      { timeoutMs: 90_000, intervalMs: 250, description: 'the surviving worker to finish the job' },
    );

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
      `${services.registryUrl}/models/failover-classifier`,
    );
    expect(model.versions).toHaveLength(1);
    expect(await bus.deadLetterCount('trainer.jobs')).toBe(0);
  });
});
