/** The sepal CLI against running services: usage, help, data, runs, models and the jobs commands. */
import { JobView } from '@sepal/contracts';
import { ExitCode } from '../src/cli';
import { runCliCaptured } from './support/captured-cli';
import { cliAgainstServices, SHA } from './support/cli-services';

/** Runs the CLI in this process against the given services, capturing what it prints. */
const sepal = runCliCaptured;

describe('the sepal CLI against running services (embedded adapters)', () => {
  const { jobIn, newJob, requestTraining, report } = cliAgainstServices();

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
});
