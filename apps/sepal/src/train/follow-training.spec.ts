import { Writable } from 'node:stream';
import type { JobStepState, JobView, RunPage, RunView } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import { jobView } from '../../test/support/job-views';
import { follow } from './follow-training';

const CORRELATION = 'c0ffee00-0000-4000-8000-000000000001';
const JOB = 'f00dfeed-0000-4000-8000-000000000002';

function run(overrides: Partial<RunView>): RunView {
  return {
    id: 'parent',
    experiment: 'iris',
    name: null,
    status: 'running',
    startTime: '2024-11-24T10:00:00.000Z',
    endTime: null,
    parentRunId: null,
    childrenCount: 0,
    dataset: 'iris',
    datasetVersion: null,
    backend: 'cpu',
    correlationId: CORRELATION,
    params: {},
    metrics: {},
    tags: {},
    error: null,
    ...overrides,
  } as RunView;
}

/**
 * A registry answering one page of runs per poll (the last page again once they run out) and, per poll, the job's
 * record from `jobs` (none: a 404, as an older registry answers).
 */
function registryAnswering(pages: RunView[][], jobs: JobView[] = []) {
  let poll = 0;
  let jobPoll = 0;
  return {
    get: async <T>(path: string): Promise<T> => {
      if (path.startsWith('/jobs/')) {
        expect(path).toBe(`/jobs/${JOB}`);
        const job = jobs[Math.min(jobPoll++, jobs.length - 1)];
        if (!job) throw new ServiceCallError('registry', 'GET', path, 404, `unknown job '${JOB}'`);
        return job as T;
      }
      expect(decodeURIComponent(path)).toContain(`correlation_id = '${CORRELATION}'`);
      const runs = pages[Math.min(poll++, pages.length - 1)];
      return { runs, nextPageToken: null } as RunPage as T;
    },
  };
}

/** The job's record with its first steps in the given states (the rest pending). */
const jobWith = (state: JobView['state'], steps: JobStepState[]) =>
  jobView(state, steps, { id: JOB, correlationId: CORRELATION, parentRunId: 'parent' });

const accepted = { jobId: JOB, correlationId: CORRELATION };

/** A stream that keeps what is written; `tty` makes it look like a terminal 100 columns wide. */
function captured(tty: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  Object.assign(stream, tty ? { isTTY: true, columns: 100 } : {});
  return { stream, text: () => text };
}

const parentOf = (status: RunView['status']) =>
  run({ status, params: { trials: 2 }, metrics: { best_val_accuracy: 0.9 } });
const trial = (n: number, status: RunView['status'], epoch: number) =>
  run({
    id: `trial-${n}`,
    parentRunId: 'parent',
    status,
    params: { epochs: 10 },
    metrics: { epoch, val_accuracy: 0.8 },
    tags: { trial: String(n) },
  });

describe('following a training job', () => {
  it.each([
    ['a terminal', true],
    ['a pipe or a file', false],
  ])('names its progress bars on %s (no unfilled {placeholder})', async (_what, tty) => {
    const out = captured(tty);
    const registry = registryAnswering([
      [parentOf('running')],
      [parentOf('running'), trial(1, 'finished', 10), trial(2, 'running', 4)],
      [parentOf('finished'), trial(1, 'finished', 10), trial(2, 'finished', 10)],
    ]);
    const result = await follow(registry, accepted, {
      timeoutMs: 10_000,
      bars: true,
      stream: out.stream,
      jobWaitMs: 0,
    });
    expect(result.job).toBeNull();
    expect(result.parent?.status).toBe('finished');
    expect(result.trials.map((t) => t.id)).toEqual(['trial-1', 'trial-2']);
    expect(out.text()).toMatch(/trials \[[^\]]*\] 2\/2 best val_accuracy 0\.9000/);
    expect(out.text()).toMatch(/epoch {2}\[[^\]]*\] 10\/10 trial 2\/2 val_accuracy 0\.8000/);
    expect(out.text()).not.toMatch(/\{\w+\}/);
  });

  it('draws nothing without bars', async () => {
    const out = captured(true);
    await follow(registryAnswering([[parentOf('finished')]]), accepted, {
      timeoutMs: 10_000,
      bars: false,
      stream: out.stream,
      jobWaitMs: 0,
    });
    expect(out.text()).toBe('');
  });

  it.each([
    ['a terminal: above the bars', true],
    ['a pipe or a file: as lines', false],
  ])('prints a line per step as it changes, on %s, and ends with the job', async (_what, tty) => {
    const out = captured(tty);
    const logged: string[] = [];
    const registry = registryAnswering(
      [
        [parentOf('running'), trial(1, 'running', 4)],
        [parentOf('running'), trial(1, 'finished', 10), trial(2, 'finished', 10)],
        [parentOf('finished'), trial(1, 'finished', 10), trial(2, 'finished', 10)],
      ],
      [
        jobWith('running', ['succeeded', 'running']),
        jobWith('running', ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'running']),
        jobWith('succeeded', [
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'succeeded',
          'skipped',
        ]),
      ],
    );
    const result = await follow(registry, accepted, {
      timeoutMs: 10_000,
      bars: true,
      stream: out.stream,
      log: (line) => logged.push(line),
    });
    expect(result.job?.state).toBe('succeeded');
    const lines = [
      'step resolve data: succeeded',
      'step train trials: running',
      'step train trials: succeeded',
      'step select: succeeded',
      'step refit on fit + validation rows: succeeded',
      'step evaluate on test: running',
      'step evaluate on test: succeeded',
      'step gate: succeeded',
      'step promote: skipped',
    ];
    const printed = tty ? out.text() : logged.join('\n');
    let from = 0;
    for (const line of lines) {
      const at = printed.indexOf(line, from);
      expect(at).toBeGreaterThanOrEqual(from);
      from = at + line.length;
    }
    if (!tty) expect(logged).toHaveLength(12);
  });
});
