import { JobStateName, JobStepState, JobView } from '@sepal/contracts';
import { jobView } from '../../test/support/job-views';
import { followVerdict, StepChanges } from './job-progress';

const job = (state: JobStateName, steps: JobStepState[] = [], attempt = 1) =>
  jobView(state, steps, { attempt });

describe('following a job', () => {
  it('prints each step once per state it reaches, and a cancel request once', () => {
    const changes = new StepChanges();
    expect(changes.lines(job('queued'))).toEqual([]);
    expect(changes.lines(job('running', ['running']))).toEqual(['step resolve data: running']);
    expect(changes.lines(job('running', ['running']))).toEqual([]);
    expect(changes.lines(job('running', ['succeeded', 'succeeded', 'running']))).toEqual([
      'step resolve data: succeeded',
      'step train trials: succeeded',
      'step select: running',
    ]);
    expect(changes.lines(job('cancelling', ['succeeded', 'succeeded', 'running']))).toEqual([
      'job a1b2c3d4: cancel requested, waiting for its trainer to stop',
    ]);
    expect(changes.lines(job('cancelling', ['succeeded', 'succeeded', 'running']))).toEqual([]);
    expect(changes.lines(job('cancelled', ['succeeded', 'succeeded', 'cancelled']))).toEqual([
      'step select: cancelled',
    ]);
    // A later attempt runs a step again: it is printed again.
    expect(changes.lines(job('running', ['succeeded', 'succeeded', 'running'], 2))).toEqual([
      'step resolve data: succeeded (attempt 2)',
      'step train trials: succeeded (attempt 2)',
      'step select: running (attempt 2)',
    ]);
  });

  const limits = { jobWaitMs: 15_000, settleMs: 10_000 };
  const verdict = (
    j: JobView | null,
    parentEndedForMs: number | null,
    {
      elapsedMs = 30_000,
      parentRunning = parentEndedForMs === null,
      jobEndedForMs = null as number | null,
    } = {},
  ) => followVerdict({ job: j, parentRunning, parentEndedForMs, jobEndedForMs, elapsedMs }, limits);

  it('ends when the job reaches a terminal state and its parent run has ended', () => {
    expect(verdict(job('succeeded', ['succeeded']), 0)).toBe('job');
    expect(verdict(job('cancelled', ['cancelled']), 0)).toBe('job');
    expect(verdict(job('running', ['succeeded', 'running']), null)).toBeNull();
    expect(verdict(job('cancelling', ['succeeded', 'running']), 0)).toBeNull();
  });

  it('ends at once with a job that failed before it had a run, and waits a while for a run still running', () => {
    expect(verdict(job('failed', ['failed']), null, { parentRunning: false, elapsedMs: 10 })).toBe('job');
    const succeeded = job('succeeded', ['succeeded']);
    expect(verdict(succeeded, null, { jobEndedForMs: 9_999 })).toBeNull();
    expect(verdict(succeeded, null, { jobEndedForMs: 10_000 })).toBe('job');
  });

  it('waits a while for a job record that is not there yet, then ends with the parent run (an older registry)', () => {
    expect(verdict(null, null, { elapsedMs: 60_000 })).toBeNull();
    expect(verdict(null, 0, { elapsedMs: 5_000 })).toBeNull();
    expect(verdict(null, 0, { elapsedMs: 15_000 })).toBe('runs');
  });

  it('ends with the parent run when the job has no step reported (a trainer that reports none)', () => {
    expect(verdict(job('queued'), 0, { elapsedMs: 1_000 })).toBe('runs');
    expect(verdict(job('queued'), null, { elapsedMs: 60_000 })).toBeNull();
  });

  it('gives a job whose steps are reported a while to end after its parent run, then ends with the run', () => {
    const promoting = job('running', ['succeeded', 'succeeded', 'succeeded', 'running']);
    expect(verdict(promoting, 9_999)).toBeNull();
    expect(verdict(promoting, 10_000)).toBe('runs');
  });
});
