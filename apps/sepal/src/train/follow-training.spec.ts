import { Writable } from 'node:stream';
import type { RunPage, RunView } from '@sepal/contracts';
import { follow } from './follow-training';

const CORRELATION = 'c0ffee00-0000-4000-8000-000000000001';

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

/** A registry answering one page of runs per poll (the last page again once they run out). */
function registryAnswering(pages: RunView[][]) {
  let poll = 0;
  return {
    get: async <T>(path: string): Promise<T> => {
      expect(decodeURIComponent(path)).toContain(`correlation_id = '${CORRELATION}'`);
      const runs = pages[Math.min(poll++, pages.length - 1)];
      return { runs, nextPageToken: null } as RunPage as T;
    },
  };
}

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
    const runs = await follow(registry, CORRELATION, 10_000, true, out.stream);
    expect(runs).toHaveLength(3);
    expect(out.text()).toMatch(/trials \[[^\]]*\] 2\/2 best val_accuracy 0\.9000/);
    expect(out.text()).toMatch(/epoch {2}\[[^\]]*\] 10\/10 trial 2\/2 val_accuracy 0\.8000/);
    expect(out.text()).not.toMatch(/\{\w+\}/);
  });

  it('draws nothing without bars', async () => {
    const out = captured(true);
    await follow(registryAnswering([[parentOf('finished')]]), CORRELATION, 10_000, false, out.stream);
    expect(out.text()).toBe('');
  });
});
