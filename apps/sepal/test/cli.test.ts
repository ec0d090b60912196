import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventNames, JobStepChanged, JobStepId, JobStepState, JobView } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestBus, sleep, uniqueNamespace, waitFor } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../data/src';
import { RegistryConfig, startRegistryApp } from '../../registry/src';
import { ExitCode } from '../src/cli';
import { serviceClient } from '../src/client/service-client';
import { cliContextFromEnv } from '../src/commands/cli-context';
import { follow } from '../src/train/follow-training';
import { runCliCaptured } from './support/captured-cli';

const SHA = 'c0ffee00'.repeat(8);

interface AcceptedJob {
  jobId: string;
  correlationId: string;
}

/** Runs the CLI in this process against the given services, capturing what it prints. */
const sepal = runCliCaptured;

describe('the sepal CLI against running services (embedded adapters)', () => {
  let apps: INestApplication[] = [];
  let modelsDir: string;
  let bus: EventBus;
  let registryUrl: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    const namespace = uniqueNamespace('cli');
    modelsDir = mkdtempSync(join(tmpdir(), 'sepal-cli-'));
    const env = { SEPAL_HOME: `memory://${namespace}`, SEPAL_NAMESPACE: namespace, LOG_LEVEL: 'error' };
    const data = await startDataApp(
      DataConfig.load({
        ...env,
        DATA_PORT: '0',
        DATA_HOST: '127.0.0.1',
        DATA_DIR: join(__dirname, '../../../data'),
      }),
    );
    const registry = await startRegistryApp(
      RegistryConfig.load({ ...env, REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', MODELS_DIR: modelsDir }),
    );
    apps = [data, registry];
    process.env.SEPAL_DATA_URL = (await data.getUrl()).replace('[::1]', '127.0.0.1');
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

  it('says what is wrong with a wrong command or a missing argument, with exit code 2', async () => {
    const unknown = await sepal(['bogus']);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.err).toMatch(/unknown command 'bogus'/);
    const missing = await sepal(['data', 'show']);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.err).toMatch(/missing required argument 'dataset'/);
  });

  it('explains every command with --help and exits 0', async () => {
    const help = await sepal(['up', '--help']);
    expect(help.code).toBe(ExitCode.ok);
    expect(help.out).toMatch(/Start every Sepal service in this process/);
    expect((await sepal(['train', '--help'])).out).toMatch(/--grid <grid>/);
  });

  it('imports and lists versions, as a table and as JSON for scripts', async () => {
    const imported = await sepal(['data', 'import', 'iris']);
    expect(imported.code).toBe(ExitCode.ok);
    expect(imported.out).toMatch(/Created version v1 [0-9a-f]{64}/);
    const listed = await sepal(['--json', 'data', 'ls', 'iris']);
    expect(listed.code).toBe(ExitCode.ok);
    const versions = JSON.parse(listed.out);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ seq: 1, rowCount: 150, trainRows: 120, testRows: 30 });
    expect((await sepal(['data', 'ls'])).out).toMatch(/^DATASET\s+VERSIONS/m);
  });

  it('prints JSON arrays of runs and models for scripts', async () => {
    const runs = await sepal(['--json', 'runs', 'ls']);
    expect(runs.code).toBe(ExitCode.ok);
    expect(Array.isArray(JSON.parse(runs.out))).toBe(true);
    const models = await sepal(['--json', 'models', 'ls']);
    expect(models.code).toBe(ExitCode.ok);
    expect(JSON.parse(models.out)).toEqual([]);
  });

  it('exits 1 with the service message and hint when a request is refused', async () => {
    const result = await sepal(['data', 'show', 'nope']);
    expect(result.code).toBe(ExitCode.failed);
    expect(result.err).toMatch(/error: unknown dataset 'nope'\nhint: Known datasets: iris/);
  });

  it('exits 3 when a service is unreachable, and says how to fix it', async () => {
    const result = await sepal(['train', '--dataset', 'iris', '--no-follow']);
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.err).toMatch(/cannot reach the trainer service at http:\/\/127\.0\.0\.1:9/);
    expect(result.err).toMatch(/hint: Start it/);
  });

  describe('sepal jobs', () => {
    const failed = newJob();
    const queued = newJob();

    beforeAll(async () => {
      await requestTraining(failed);
      await requestTraining(queued);
      await report(failed, 'resolve-data', 'running');
      await report(failed, 'resolve-data', 'succeeded', { summary: { datasetVersion: SHA } });
      await report(failed, 'train-trials', 'running');
      await report(failed, 'train-trials', 'succeeded', { summary: { trials: 9 } });
      await report(failed, 'select', 'succeeded', { summary: { selectedTrial: 4, val_accuracy: 0.97 } });
      await report(failed, 'evaluate', 'running');
      await report(failed, 'evaluate', 'failed', { error: 'the test split has no rows of class virginica' });
      await jobIn(failed.jobId, 'failed');
      await jobIn(queued.jobId, 'queued');
    });

    it('lists jobs as JSON for scripts, filtered by state and dataset, and as a table for people', async () => {
      const all = await sepal(['--json', 'jobs', 'ls']);
      expect(all.code).toBe(ExitCode.ok);
      const jobs = JSON.parse(all.out) as JobView[];
      expect(jobs.find((job) => job.id === failed.jobId)).toMatchObject({
        state: 'failed',
        dataset: 'iris',
        reason: 'manual',
        requestedBy: 'cli-test',
        attempt: 1,
        error: 'evaluate: the test split has no rows of class virginica',
      });
      expect(jobs.map((job) => job.id)).toContain(queued.jobId);

      const onlyFailed = JSON.parse(
        (await sepal(['--json', 'jobs', 'ls', '--state', 'failed', '--dataset', 'iris'])).out,
      ) as JobView[];
      expect(onlyFailed.map((job) => job.id)).toContain(failed.jobId);
      expect(onlyFailed.map((job) => job.id)).not.toContain(queued.jobId);
      expect(onlyFailed.every((job) => job.state === 'failed')).toBe(true);
      expect(JSON.parse((await sepal(['--json', 'jobs', 'ls', '--dataset', 'wine'])).out)).toEqual([]);

      const page = await sepal(['--json', 'jobs', 'ls', '--limit', '1']);
      expect(JSON.parse(page.out)).toHaveLength(1);
      expect(page.err).toMatch(/^more: --page-token \S+$/m);

      const table = await sepal(['jobs', 'ls']);
      expect(table.out).toMatch(/^JOB\s+STATE\s+DATASET\s+REASON\s+ATTEMPT\s+STEP\s+CREATED\s+DURATION$/m);
      expect(table.out).toMatch(
        new RegExp(
          `^${failed.jobId.slice(0, 8)}\\s+failed\\s+iris\\s+manual\\s+1\\s+evaluate on test \\(failed\\)\\s+\\S+Z\\s+[\\d.]+ s$`,
          'm',
        ),
      );
      expect(table.out).toMatch(
        new RegExp(`^${queued.jobId.slice(0, 8)}\\s+queued\\s+iris\\s+manual\\s+1\\s+-\\s+\\S+Z$`, 'm'),
      );
    });

    it('refuses a state that does not exist as wrong usage (exit 2)', async () => {
      const bad = await sepal(['jobs', 'ls', '--state', 'done']);
      expect(bad.code).toBe(ExitCode.usage);
      expect(bad.err).toMatch(
        /Allowed choices are queued, running, succeeded, failed, cancelling, cancelled/,
      );
      expect((await sepal(['jobs', 'ls', '--limit', '0'])).code).toBe(ExitCode.usage);
    });

    it('shows a job as JSON, and for people with a step table, by its id or the start of it', async () => {
      const shown = await sepal(['--json', 'jobs', 'show', failed.jobId]);
      expect(shown.code).toBe(ExitCode.ok);
      const job = JSON.parse(shown.out) as JobView;
      expect(job).toMatchObject({ id: failed.jobId, state: 'failed', datasetVersion: SHA });
      expect(job.steps.map((step) => [step.step, step.state])).toEqual([
        ['resolve-data', 'succeeded'],
        ['train-trials', 'succeeded'],
        ['select', 'succeeded'],
        // Not reported by this job's trainer: a step it does not report shows pending.
        ['refit', 'pending'],
        ['evaluate', 'failed'],
        ['export', 'pending'],
        ['parity', 'pending'],
        ['register', 'pending'],
        ['gate', 'pending'],
        ['promote', 'pending'],
        ['served', 'pending'],
      ]);
      expect(job.steps[2].summary).toEqual({ selectedTrial: 4, val_accuracy: 0.97 });

      const human = await sepal(['jobs', 'show', failed.jobId.slice(0, 8)]);
      expect(human.code).toBe(ExitCode.ok);
      expect(human.out).toMatch(new RegExp(`^job ${failed.jobId}$`, 'm'));
      expect(human.out).toMatch(/^error:\s+evaluate: the test split has no rows of class virginica$/m);
      expect(human.out).toMatch(/^STEP\s+STATE\s+ATTEMPT\s+STARTED\s+DURATION\s+WORKER\s+SUMMARY\s+ERROR$/m);
      expect(human.out).toMatch(
        /^resolve data\s+succeeded\s+1\s+\S+Z\s+[\d.]+ s\s+trainer-test\s+datasetVersion=c0ffee00c0ff$/m,
      );
      // In the order the registry keeps a summary's keys (JSONB: shorter keys first).
      expect(human.out).toMatch(
        /^select\s+succeeded\s+1\s+\S+Z\s+[\d.]+ s\s+trainer-test\s+\S+=\S+ \S+=\S+$/m,
      );
      expect(human.out).toMatch(/^select\s.*\bselectedTrial=4\b/m);
      expect(human.out).toMatch(/^select\s.*\bval_accuracy=0\.9700\b/m);
      expect(human.out).toMatch(
        /^evaluate on test\s+failed\s+1\s+\S+Z\s+[\d.]+ s\s+trainer-test\s+the test split has no rows of class virginica$/m,
      );
      expect(human.out).toMatch(/^served\s+pending\s+1$/m);
    });

    it("exits 1 with the registry's message when a job cannot be cancelled, retried or found", async () => {
      const cancel = await sepal(['jobs', 'cancel', failed.jobId]);
      expect(cancel.code).toBe(ExitCode.failed);
      expect(cancel.err).toBe(
        `error: job '${failed.jobId}' has already failed: there is nothing to cancel\n` +
          `hint: sepal jobs retry ${failed.jobId} runs it again.\n`,
      );
      const retry = await sepal(['jobs', 'retry', queued.jobId]);
      expect(retry.code).toBe(ExitCode.failed);
      expect(retry.err).toBe(
        `error: job '${queued.jobId}' is queued: only a failed or cancelled job can be retried\n` +
          `hint: sepal jobs cancel ${queued.jobId} cancels it first.\n`,
      );
      const unknown = await sepal(['jobs', 'show', 'f00dfeed-nope']);
      expect(unknown.code).toBe(ExitCode.failed);
      expect(unknown.err).toBe(
        "error: unknown job 'f00dfeed-nope'\nhint: sepal jobs ls lists the jobs, newest first.\n",
      );
    });

    it('cancels a job no trainer started at once, then retries it as its next attempt', async () => {
      const cancelled = await sepal(['jobs', 'cancel', queued.jobId.slice(0, 8)]);
      expect(cancelled.code).toBe(ExitCode.ok);
      expect(cancelled.out).toBe(`job ${queued.jobId}: cancelled\n`);
      const retried = await sepal(['--json', 'jobs', 'retry', queued.jobId]);
      expect(retried.code).toBe(ExitCode.ok);
      expect(JSON.parse(retried.out)).toMatchObject({ id: queued.jobId, state: 'queued', attempt: 2 });
      const human = await sepal(['jobs', 'show', queued.jobId]);
      expect(human.out).toMatch(/^state:\s+queued\s+attempt: 2\s+/m);
    });
  });

  describe('sepal train following the job', () => {
    /** What the stand-in trainer publishes after it accepted a job, and its progress. */
    let script: (job: AcceptedJob) => Promise<void> = async () => undefined;
    let scripted: Promise<void> = Promise.resolve();
    let closeTrainer: () => Promise<void>;
    const stderrIsTTY = process.stderr.isTTY;

    /**
     * Stands in for the trainer's HTTP API: answers POST /train as the trainer does (publishes train.requested with the
     * job id as its message id), then publishes what a trainer running the job publishes, per `script`. The trainer is
     * tested in apps/trainer; here what matters is what the CLI makes of those events in the real registry.
     */
    beforeAll(async () => {
      const server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += String(chunk)));
        request.on('end', () => {
          const job = newJob();
          void requestTraining(job).then(() => {
            response.writeHead(202, { 'content-type': 'application/json' });
            response.end(
              JSON.stringify({
                ...job,
                dataset: (JSON.parse(body) as { dataset: string }).dataset,
                version: null,
              }),
            );
            scripted = script(job);
          });
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address() as { port: number };
      process.env.SEPAL_TRAINER_URL = `http://127.0.0.1:${address.port}`;
      closeTrainer = () => new Promise((resolve) => server.close(() => resolve()));
      // As in a pipe or CI, whatever runs the tests: the step lines on standard output, not above live bars.
      process.stderr.isTTY = false;
    });

    afterAll(async () => {
      process.stderr.isTTY = stderrIsTTY;
      process.env.SEPAL_TRAINER_URL = 'http://127.0.0.1:9';
      await closeTrainer?.();
    });

    const jobIdOf = (out: string) => /^Job (\S+) requested/m.exec(out)?.[1] ?? 'none';

    it('prints a line per step, then the trials and the job succeeded, once its parent run ended too', async () => {
      script = (job) => sweep(job, true);
      const result = await sepal(['train', '--dataset', 'iris', '--timeout', '30']);
      await scripted;
      expect(result.err).not.toMatch(/error/);
      expect(result.code).toBe(ExitCode.ok);
      const id = jobIdOf(result.out);
      expect(result.out).toMatch(
        /^step resolve data: succeeded in [\d.]+ s {2}datasetVersion=c0ffee00c0ff$/m,
      );
      expect(result.out).toMatch(/^step train trials: succeeded in [\d.]+ s {2}trials=1$/m);
      expect(result.out).toMatch(/^step select: succeeded in [\d.]+ s {2}.*\bselectedTrial=1\b/m);
      expect(result.out).toMatch(/^step promote: succeeded in [\d.]+ s {2}alias=champion$/m);
      expect(result.out).toMatch(/^1\s+8\s+finished\s+2\s+2\s+0\.9000\s+0\.3100\s+<- selected$/m);
      // The job ended before its parent run: the summary still has the run's test metrics.
      expect(result.out).toMatch(/^test: accuracy 0\.9333/m);
      expect(result.out).toMatch(
        new RegExp(`^job ${id} {2}succeeded in [\\d.]+ s {2}attempt 1 {2}model ScriptedModel v1$`, 'm'),
      );
      expect(result.out.indexOf('step promote')).toBeLessThan(result.out.indexOf('<- selected'));
    });

    it("exits 1 with its failed step's error when the job fails before its sweep has a run", async () => {
      script = async (job) => {
        await report(job, 'resolve-data', 'running');
        await report(job, 'resolve-data', 'failed', { error: 'the data service is unreachable' });
      };
      const result = await sepal(['train', '--dataset', 'iris', '--timeout', '20']);
      await scripted;
      expect(result.code).toBe(ExitCode.failed);
      const id = jobIdOf(result.out);
      expect(result.out).toMatch(
        /^step resolve data: failed after [\d.]+ s: the data service is unreachable$/m,
      );
      expect(result.out).toMatch(/^\(no run recorded\)$/m);
      expect(result.out).toMatch(/^failed step: resolve data: the data service is unreachable$/m);
      expect(result.err).toMatch(
        new RegExp(
          `^error: training job ${id} failed: resolve-data: the data service is unreachable\n$`,
          'm',
        ),
      );
    });

    it('ends with the parent run when the trainer reports no steps, as before jobs were recorded', async () => {
      script = (job) => sweep(job, false);
      const result = await sepal(['--json', 'train', '--dataset', 'iris', '--timeout', '30']);
      await scripted;
      expect(result.code).toBe(ExitCode.ok);
      const printed = JSON.parse(result.out);
      expect(printed.jobRecord).toMatchObject({ id: printed.job.jobId, state: 'queued' });
      expect(printed.parent).toMatchObject({ status: 'finished', correlationId: printed.job.correlationId });
      expect(printed.trials).toHaveLength(1);
    });

    it('with --no-follow prints the job id and how to follow it', async () => {
      script = async () => undefined;
      const result = await sepal(['train', '--dataset', 'iris', '--no-follow']);
      expect(result.code).toBe(ExitCode.ok);
      const id = jobIdOf(result.out);
      expect(result.out).toMatch(new RegExp(`^Follow it: sepal jobs show ${id}$`, 'm'));
      await jobIn(id, 'queued');
      const json = await sepal(['--json', 'train', '--dataset', 'iris', '--no-follow']);
      expect(JSON.parse(json.out)).toMatchObject({ dataset: 'iris', jobId: expect.any(String) });
    });

    it('follows the runs alone when the registry never records the job (an older registry)', async () => {
      const job = newJob(); // never requested: GET /jobs/:id answers 404 throughout
      const lines: string[] = [];
      const started = Date.now();
      const followed = follow(serviceClient(cliContextFromEnv(), 'registry'), job, {
        timeoutMs: 20_000,
        bars: false,
        log: (line) => lines.push(line),
        jobWaitMs: 2_000,
        pollMs: 100,
      });
      await sweep(job, false);
      const result = await followed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(result.job).toBeNull();
      expect(result.parent).toMatchObject({ status: 'finished', correlationId: job.correlationId });
      expect(result.trials).toHaveLength(1);
      expect(lines).toEqual([]);
    });
  });
});
