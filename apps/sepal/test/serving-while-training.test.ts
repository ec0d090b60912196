/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { join } from 'node:path';
import { JOB_STEPS, type JobView } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { NO_CROSS_VALIDATION, startEmbeddedSystem, type EmbeddedSystem } from '@sepal/testing';
import { launchSystem, type LaunchedSystem } from '../src/up/launcher';

/*
 * The embedded mode (`sepal up`: every app in one process) keeps serving predictions while it trains: trials run in
 * worker threads. Correctness only (every request answered 200, the job's steps recorded); the throughput ratio is
 * `npm run bench:train`'s job.
 */
describe('the embedded system while it trains', () => {
  let embedded: EmbeddedSystem<LaunchedSystem>;
  let system: LaunchedSystem;
  const url = (name: string) => system.apps.find((a) => a.name === name)!.url;

  beforeAll(async () => {
    embedded = await startEmbeddedSystem(launchSystem, {
      name: 'serving',
      dataDir: join(__dirname, '../../../data'),
      env: { GATE_MIN_ACCURACY: '0', TRAINER_WORKERS: '1', ...NO_CROSS_VALIDATION },
    });
    system = embedded.system;
  }, 240_000);

  afterAll(async () => {
    await embedded?.close();
    await closeEmbeddedDatabases();
  });

  it('answers every prediction while a grid trains, and records the job step by step', async () => {
    const accepted = await fetch(`${url('trainer')}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: JSON.stringify({
        dataset: 'iris',
        // Four short trials: long enough to serve beside (the loop below checks it saw them running), short enough
        // for the suite; the serving ratio during a long retrain is `npm run bench:train`'s (serving during training).
        grid: { hiddenUnits: [8, 16], learningRate: [0.01, 0.02] },
        params: { epochs: 40, earlyStoppingPatience: 0 },
      }),
    });
    expect(accepted.status).toBe(202);
    const { jobId } = (await accepted.json()) as { jobId: string };

    const statuses = new Map<number, number>();
    let job: JobView | undefined;
    let sawTraining = false;
    const body = JSON.stringify({ features: [5.1, 3.5, 1.4, 0.2] });
    for (;;) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${url('inference')}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
            body,
          })
            .then((r) => r.status)
            .catch(() => 0),
        ),
      );
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const response = await fetch(`${url('registry')}/jobs/${jobId}`);
      if (response.status === 200) {
        job = (await response.json()) as JobView;
        if (job.steps.some((s) => s.step === 'train-trials' && s.state === 'running')) sawTraining = true;
        if (['succeeded', 'failed', 'cancelled'].includes(job.state)) break;
      }
    }
    expect(sawTraining).toBe(true);
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(job!.state).toBe('succeeded');
    const states = Object.fromEntries(job!.steps.map((s) => [s.step, s.state]));
    for (const step of JOB_STEPS.filter((id) => id !== 'served')) {
      expect({ step, state: states[step] }).toEqual({ step, state: 'succeeded' });
    }
    expect(job!.steps.find((s) => s.step === 'train-trials')!.summary).toMatchObject({
      trials: 4,
      finished: 4,
    });
  }, 300_000);

  it('refuses a job over a training limit, naming the limit', async () => {
    for (const [body, message] of [
      [
        { grid: { hiddenUnits: [1e9] } },
        'hiddenUnits 1000000000 is over the limit of 1024 (TRAIN_MAX_HIDDEN_UNITS)',
      ],
      [{ params: { epochs: 1e8 } }, 'epochs 100000000 is over the limit of 2000 (TRAIN_MAX_EPOCHS)'],
      [
        { grid: { learningRate: Array.from({ length: 300 }, (_, i) => (i + 1) / 1000) } },
        'a grid of 300 trials is over the limit of 64 (TRAIN_MAX_TRIALS)',
      ],
    ] as const) {
      const response = await fetch(`${url('trainer')}/train`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
        body: JSON.stringify({ dataset: 'iris', ...body }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain(message);
    }
  });

  it('cancels a running sweep: the job ends cancelled and its running trials killed', async () => {
    const accepted = await fetch(`${url('trainer')}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: JSON.stringify({
        dataset: 'iris',
        grid: { hiddenUnits: [64, 96] },
        params: { epochs: 2000, earlyStoppingPatience: 0 },
      }),
    });
    const { jobId } = (await accepted.json()) as { jobId: string };
    const job = async () => (await (await fetch(`${url('registry')}/jobs/${jobId}`)).json()) as JobView;
    for (;;) {
      const response = await fetch(`${url('registry')}/jobs/${jobId}`);
      if (response.status === 200) {
        const view = (await response.json()) as JobView;
        if (view.steps.some((s) => s.step === 'train-trials' && s.state === 'running')) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const asked = Date.now();
    const cancel = await fetch(`${url('registry')}/jobs/${jobId}`, {
      method: 'DELETE',
      headers: { 'x-sepal-client': '1' },
    });
    expect([200, 202]).toContain(cancel.status);
    let view = await job();
    while (!['cancelled', 'failed', 'succeeded'].includes(view.state)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      view = await job();
    }
    expect(view.state).toBe('cancelled');
    expect(view.steps.find((s) => s.step === 'train-trials')).toMatchObject({ state: 'cancelled' });
    // Within the 5 s bound on an idle machine; printed, not asserted (machines differ).
    console.log(`cancel to cancelled: ${Date.now() - asked} ms`);
    const filter = encodeURIComponent(`tags.job_id = '${jobId}'`);
    const trials = (await (await fetch(`${url('registry')}/runs?filter=${filter}&limit=100`)).json()) as {
      runs: { status: string; parentRunId: string | null }[];
    };
    const children = trials.runs.filter((run) => run.parentRunId !== null);
    expect(children.length).toBeGreaterThan(0);
    expect(children.every((run) => run.status === 'killed')).toBe(true);
  }, 120_000);
});
