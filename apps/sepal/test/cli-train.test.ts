/** The sepal CLI against running services: sepal train following the job to its end. */
import { createServer } from 'node:http';
import { ExitCode } from '../src/cli';
import { serviceClient } from '../src/client/service-client';
import { cliContextFromEnv } from '../src/commands/cli-context';
import { follow } from '../src/train/follow-training';
import { runCliCaptured } from './support/captured-cli';
import { AcceptedJob, cliAgainstServices } from './support/cli-services';

/** Runs the CLI in this process against the given services, capturing what it prints. */
const sepal = runCliCaptured;

describe('the sepal CLI against running services (embedded adapters)', () => {
  const { jobIn, newJob, requestTraining, report, sweep } = cliAgainstServices();

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
