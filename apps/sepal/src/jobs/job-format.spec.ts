import { JOB_STEPS, JobStepId, JobView } from '@sepal/contracts';
import { jobView, stepView } from '../../test/support/job-views';
import {
  cliHint,
  clip,
  currentStep,
  describeJob,
  formatDuration,
  formatTime,
  jobOutcome,
  jobRows,
  stepChangeLine,
  stepRows,
  summaryText,
} from './job-format';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const SHA = '0123456789abcdef'.repeat(4);

const step = stepView;

/** A job whose steps before `failedAt` succeeded (each 10 s, on trainer-a) and `failedAt` failed. */
function failedJob(failedAt: JobStepId): JobView {
  const index = JOB_STEPS.indexOf(failedAt);
  return jobView('failed', [], {
    id: '5f0c8a1e-2b7d-4c11-9a53-0e6f1d2c3b4a',
    datasetVersion: SHA,
    requestedBy: 'alice',
    createdAt: at(-1.234),
    startedAt: at(0),
    endedAt: at(10 * index + 3),
    error: `${failedAt}: ONNX export failed: unsupported layer\nstack...`,
    steps: JOB_STEPS.map((id, i) =>
      i < index
        ? step(id, {
            state: 'succeeded',
            startedAt: at(10 * i),
            endedAt: at(10 * i + 10),
            worker: 'trainer-a',
            summary: id === 'train-trials' ? { trials: 9 } : {},
          })
        : i === index
          ? step(id, {
              state: 'failed',
              startedAt: at(10 * i),
              endedAt: at(10 * i + 3),
              worker: 'trainer-a',
              error: 'ONNX export failed: unsupported layer\nstack...',
            })
          : step(id),
    ),
  });
}

describe('job formatting', () => {
  it('writes durations the way people read them', () => {
    expect(formatDuration(0)).toBe('0.0 s');
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(59_990)).toBe('1m 00s');
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(7_380_000)).toBe('2h 03m');
    expect(formatDuration(-5)).toBe('0.0 s');
  });

  it('writes times to the second and cuts long or multi-line text to one marked line', () => {
    expect(formatTime('2026-11-30T10:00:05.123Z')).toBe('2026-11-30T10:00:05Z');
    expect(formatTime(null)).toBe('-');
    expect(clip('short', 10)).toBe('short');
    expect(clip('a much longer message', 10)).toBe('a much lo…');
    expect(clip('first line\nsecond', 40)).toBe('first line…');
  });

  it("writes a step's summary as pairs, with figures to 4 decimals and a dataset version shortened", () => {
    expect(summaryText({ selectedTrial: 4, val_accuracy: 0.96666, datasetVersion: SHA, note: null })).toBe(
      'selectedTrial=4 val_accuracy=0.9667 datasetVersion=0123456789ab note=-',
    );
    expect(summaryText({})).toBe('');
  });

  it('says which step a job is at: the running one, else the failed one, else the last that ran', () => {
    const failed = failedJob('export');
    expect(currentStep(failed)?.step).toBe('export');
    const running = {
      ...failed,
      steps: failed.steps.map((s) =>
        s.step === 'export' ? { ...s, state: 'running' as const, endedAt: null, error: null } : s,
      ),
    };
    expect(currentStep(running)?.step).toBe('export');
    const succeeded = {
      ...failed,
      steps: failed.steps.map((s) =>
        s.step === 'served'
          ? s
          : { ...s, state: s.step === 'promote' ? ('skipped' as const) : ('succeeded' as const) },
      ),
    };
    expect(currentStep(succeeded)?.step).toBe('promote');
    expect(currentStep({ ...failed, steps: failed.steps.map((s) => step(s.step)) })).toBeUndefined();
  });

  it('lists a job on one row: short id, state, dataset, reason, attempt, step, created, duration', () => {
    const job = failedJob('export');
    const queued: JobView = {
      ...job,
      id: 'aaaabbbb-0000',
      state: 'queued',
      dataset: '',
      reason: '',
      startedAt: null,
      endedAt: null,
      steps: job.steps.map((s) => step(s.step)),
    };
    expect(jobRows([job, queued], T0 + 1_000_000)).toEqual([
      ['5f0c8a1e', 'failed', 'iris', 'manual', 1, 'export (failed)', '2026-11-30T09:59:58Z', '53.0 s'],
      ['aaaabbbb', 'queued', '-', '-', 1, '-', '2026-11-30T09:59:58Z', ''],
    ]);
  });

  it('tells how long a running job or step has taken so far', () => {
    const job = failedJob('export');
    const running: JobView = {
      ...job,
      state: 'running',
      endedAt: null,
      steps: job.steps.map((s) => (s.step === 'export' ? { ...s, state: 'running', endedAt: null } : s)),
    };
    const now = Date.parse(at(95));
    expect(jobRows([running], now)[0][7]).toBe('1m 35s');
    expect(stepRows(running, now).find((row) => row[0] === 'export')?.[4]).toBe('45.0 s');
  });

  it('shows a job with a step table whose rows carry the state, worker, summary and the error cut short', () => {
    const job = failedJob('export');
    const text = describeJob(job, T0);
    expect(text).toMatch(/^job 5f0c8a1e-2b7d-4c11-9a53-0e6f1d2c3b4a\n/);
    expect(text).toMatch(/state:\s+failed\s+attempt: 1\s+reason: manual\s+requested by: alice/);
    expect(text).toMatch(/dataset:\s+iris 0123456789ab\n/);
    expect(text).toMatch(/\(53\.0 s\)/);
    expect(text).toMatch(/error:\s+export: ONNX export failed: unsupported layer\n/);
    const table = text.split('\n\n')[1].split('\n');
    expect(table[0]).toMatch(/^STEP\s+STATE\s+ATTEMPT\s+STARTED\s+DURATION\s+WORKER\s+SUMMARY\s+ERROR$/);
    expect(table).toHaveLength(2 + JOB_STEPS.length);
    expect(table[3]).toMatch(
      /^train trials\s+succeeded\s+1\s+2026-11-30T10:00:10Z\s+10\.0 s\s+trainer-a\s+trials=9$/,
    );
    expect(table[7]).toMatch(
      /^export\s+failed\s+1\s+2026-11-30T10:00:50Z\s+3\.0 s\s+trainer-a\s+ONNX export failed: unsupported layer…$/,
    );
    expect(table[12]).toMatch(/^served\s+pending\s+1$/);
  });

  it('prints a line for a step as it changes', () => {
    const job = failedJob('export');
    const trials = job.steps[1];
    expect(stepChangeLine({ ...trials, state: 'running', endedAt: null, summary: {} })).toBe(
      'step train trials: running on trainer-a',
    );
    expect(stepChangeLine(trials)).toBe('step train trials: succeeded in 10.0 s  trials=9');
    expect(stepChangeLine(job.steps[5])).toBe(
      'step export: failed after 3.0 s: ONNX export failed: unsupported layer…',
    );
    expect(
      stepChangeLine(step('promote', { state: 'skipped', attempt: 2, summary: { reason: 'not better' } })),
    ).toBe('step promote: skipped (attempt 2)  reason=not better');
  });

  it("ends the training summary with the job's state and its failed step's error", () => {
    const job = failedJob('export');
    expect(jobOutcome(job, T0)).toBe(
      `job ${job.id}  failed in 53.0 s  attempt 1\n` +
        'failed step: export: ONNX export failed: unsupported layer\nstack...',
    );
    const succeeded: JobView = {
      ...job,
      state: 'succeeded',
      error: null,
      modelName: 'IrisModel',
      modelVersion: 3,
      steps: [],
    };
    expect(jobOutcome(succeeded, T0)).toBe(
      `job ${job.id}  succeeded in 53.0 s  attempt 1  model IrisModel v3`,
    );
    const unreported: JobView = {
      ...job,
      state: 'queued',
      startedAt: null,
      endedAt: null,
      error: null,
      steps: job.steps.map((s) => step(s.step)),
    };
    expect(jobOutcome(unreported, T0)).toBe(
      `job ${job.id}  queued  attempt 1\n` +
        '(no step of it was reported: the trainer predates job steps, so its record stays queued)',
    );
    const promoting: JobView = {
      ...job,
      state: 'running',
      endedAt: null,
      error: null,
      steps: job.steps.slice(0, 4),
    };
    expect(jobOutcome(promoting, Date.parse(at(50)))).toBe(
      `job ${job.id}  running for 50.0 s  attempt 1\n(its record has not ended yet: sepal jobs show ${job.id})`,
    );
  });

  it("tells the CLI command where the registry's hint names a REST route", () => {
    expect(cliHint('POST /jobs/abc-1/retry runs it again.')).toBe('sepal jobs retry abc-1 runs it again.');
    expect(cliHint('DELETE /jobs/abc-1 cancels it first.')).toBe('sepal jobs cancel abc-1 cancels it first.');
    expect(cliHint('GET /jobs lists the jobs, newest first.')).toBe(
      'sepal jobs ls lists the jobs, newest first.',
    );
    expect(cliHint('Request a new training job instead.')).toBe('Request a new training job instead.');
  });
});
