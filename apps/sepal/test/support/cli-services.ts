/** Running services for the sepal CLI tests, and the trainer's events they publish. */
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventNames, JobStepChanged, JobStepId, JobStepState, JobView } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestBus, sleep, uniqueNamespace, waitFor } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../../data/src';
import { RegistryConfig, startRegistryApp } from '../../../registry/src';

export const SHA = 'c0ffee00'.repeat(8);

export interface AcceptedJob {
  jobId: string;
  correlationId: string;
}

/**
 * The data app on the embedded adapters in `namespace`, on a free loopback port, with SEPAL_DATA_URL pointing at it
 * (the caller restores process.env); `env` adds to or overrides its settings.
 */
export async function startCliDataApp(
  namespace: string,
  env: NodeJS.ProcessEnv = {},
): Promise<INestApplication> {
  const app = await startDataApp(
    DataConfig.load({
      SEPAL_HOME: `memory://${namespace}`,
      SEPAL_NAMESPACE: namespace,
      LOG_LEVEL: 'error',
      DATA_PORT: '0',
      DATA_HOST: '127.0.0.1',
      ...env,
    }),
  );
  process.env.SEPAL_DATA_URL = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return app;
}

/**
 * The data and registry apps on the embedded adapters for the CLI tests of the enclosing describe (started in its
 * beforeAll, closed in its afterAll), with SEPAL_*_URL pointing at them, and what a trainer would publish.
 */
export function cliAgainstServices() {
  let apps: INestApplication[] = [];
  let modelsDir: string;
  let bus: EventBus;
  let registryUrl: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    const namespace = uniqueNamespace('cli');
    modelsDir = mkdtempSync(join(tmpdir(), 'sepal-cli-'));
    const env = { SEPAL_HOME: `memory://${namespace}`, SEPAL_NAMESPACE: namespace, LOG_LEVEL: 'error' };
    const data = await startCliDataApp(namespace, { DATA_DIR: join(__dirname, '../../../../data') });
    const registry = await startRegistryApp(
      RegistryConfig.load({ ...env, REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', MODELS_DIR: modelsDir }),
    );
    apps = [data, registry];
    registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
    process.env.SEPAL_REGISTRY_URL = registryUrl;
    bus = createTestBus(namespace); // publishes what the trainer would
    process.env.SEPAL_TRAINER_URL = 'http://127.0.0.1:9'; // nothing listens on the discard port
  }, 60_000);

  afterAll(async () => {
    await bus.close();
    for (const app of apps.reverse()) await app.close();
    await closeEmbeddedDatabases();
    rmSync(modelsDir, { recursive: true, force: true });
    process.env = saved;
  });

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${registryUrl}${path}`);
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const jobIn = (id: string, state: JobView['state']) =>
    waitFor(async () => (await getJson<JobView>(`/jobs/${id}`)).state === state, {
      timeoutMs: 10_000,
      description: `job ${id} ${state}`,
    });
  const newJob = (): AcceptedJob => ({ jobId: randomUUID(), correlationId: randomUUID() });

  /** train.requested as the trainer's POST /train publishes it: its message id is the job id. */
  const requestTraining = (job: AcceptedJob) =>
    bus.publish(
      EventNames.TrainRequested,
      { dataset: 'iris', requestedBy: 'cli-test' },
      { messageId: job.jobId, correlationId: job.correlationId },
    );
  let sequence = 0;
  /** A trainer's report of one step of a job's first attempt. */
  const report = (
    job: AcceptedJob,
    step: JobStepId,
    state: JobStepState,
    extra: Partial<JobStepChanged> = {},
  ) =>
    bus.publish(
      EventNames.JobStepChanged,
      {
        jobId: job.jobId,
        step,
        state,
        attempt: 1,
        sequence: ++sequence,
        at: new Date().toISOString(),
        worker: 'trainer-test',
        summary: {},
        ...extra,
      },
      { correlationId: job.correlationId },
    );
  const startRun = async (
    job: AcceptedJob,
    runId: string,
    parentRunId: string | null,
    params: Record<string, string | number>,
    tags: Record<string, string> = {},
  ) => {
    await bus.publish(
      EventNames.TrainingStarted,
      {
        runId,
        parentRunId,
        experiment: 'iris',
        dataset: 'iris',
        datasetVersion: SHA,
        params,
        tags,
        backend: 'cpu',
        startedAt: new Date().toISOString(),
      },
      { correlationId: job.correlationId },
    );
    await waitFor(async () => (await fetch(`${registryUrl}/runs/${runId}`)).ok, {
      timeoutMs: 10_000,
      description: `run ${runId} recorded`,
    });
  };
  const finishRun = async (
    job: AcceptedJob,
    runId: string,
    metrics: Record<string, number>,
    tags: Record<string, string> = {},
  ) => {
    await bus.publish(
      EventNames.RunFinished,
      { runId, status: 'finished', metrics, tags, endedAt: new Date().toISOString() },
      { correlationId: job.correlationId },
    );
    await waitFor(async () => (await getJson<{ status: string }>(`/runs/${runId}`)).status === 'finished', {
      timeoutMs: 10_000,
      description: `run ${runId} finished`,
    });
  };

  /**
   * What a trainer publishes for a sweep of one trial through to promotion: the runs always, the step reports when
   * `steps` (a trainer from before job steps reports none). The job ends a moment before its parent run does.
   */
  async function sweep(job: AcceptedJob, steps: boolean): Promise<void> {
    const parent = randomUUID();
    const child = randomUUID();
    const step = async (id: JobStepId, state: JobStepState, summary: JobStepChanged['summary'] = {}) => {
      if (steps)
        await report(job, id, state, { summary, ...(id === 'train-trials' ? { parentRunId: parent } : {}) });
    };
    await step('resolve-data', 'running');
    await step('resolve-data', 'succeeded', { datasetVersion: SHA });
    await startRun(job, parent, null, { trials: 1, grid: JSON.stringify({ hiddenUnits: [8] }) });
    await step('train-trials', 'running');
    await startRun(job, child, parent, { hiddenUnits: 8, epochs: 2 }, { trial: '1' });
    await finishRun(job, child, { val_accuracy: 0.9, val_loss: 0.31, epochs_run: 2, best_epoch: 2 });
    await step('train-trials', 'succeeded', { trials: 1 });
    await step('select', 'succeeded', { selectedTrial: 1, val_accuracy: 0.9 });
    for (const id of ['evaluate', 'export', 'parity'] as const) await step(id, 'succeeded');
    await step('register', 'succeeded', { modelName: 'ScriptedModel', modelVersion: 1 });
    await step('gate', 'succeeded', { decision: 'promoted' });
    await step('promote', 'succeeded', { alias: 'champion' });
    if (steps) {
      await jobIn(job.jobId, 'succeeded');
      await sleep(700); // longer than the CLI's poll: it sees the job ended and its parent run still running
    }
    await finishRun(
      job,
      parent,
      {
        selected_trial: 1,
        test_accuracy: 0.9333,
        test_macro_f1: 0.93,
        test_log_loss: 0.2,
        onnx_parity_max_abs_diff: 0.000001,
      },
      {
        model_name: 'ScriptedModel',
        model_version: '1',
        gate_decision: 'promoted',
        gate_reason: 'no champion yet',
      },
    );
  }

  return { jobIn, newJob, requestTraining, report, sweep };
}
