import { TERMINAL_JOB_STATES, type JobStepView, type JobView } from '@sepal/contracts';
import { pairs } from '../output/format';
import { formatTable } from '../output/table';

type Cell = string | number | null | undefined;

/** The first 8 characters of a job id: what the tables show; `sepal jobs show` accepts it back. */
export const shortJobId = (id: string) => id.slice(0, 8);

/** 0.4 s, 12.3 s, 4m 05s, 2h 03m. */
export function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 59_950) return `${(clamped / 1000).toFixed(1)} s`;
  const seconds = Math.round(clamped / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${pad(Math.floor((seconds % 3600) / 60))}m`;
}

/** How long something took, or has taken so far when it has not ended; empty when it has not started. */
export function span(startedAt: string | null, endedAt: string | null, now: number): string {
  if (!startedAt) return '';
  return formatDuration((endedAt ? Date.parse(endedAt) : now) - Date.parse(startedAt));
}

/** A timestamp to the second, in UTC: 2026-11-30T10:00:05Z. */
export const formatTime = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');

/** At most `max` characters of the first line of `text`, marked with … when cut. */
export function clip(text: string, max: number): string {
  const line = text.split('\n', 1)[0];
  if (line.length > max) return `${line.slice(0, max - 1)}…`;
  return line === text.trimEnd() ? line : `${line}…`;
}

/** A step's summary as `key=value` pairs; a SHA-256 (a dataset version) shortened to 12 characters. */
export const summaryText = (summary: JobStepView['summary']) =>
  pairs(
    Object.fromEntries(
      Object.entries(summary).map(([key, value]) => [
        key,
        value === null
          ? '-'
          : typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)
            ? value.slice(0, 12)
            : value,
      ]),
    ),
  );

/** The step a job is at: the one running, else the one that failed or was cancelled, else the last that ran. */
export function currentStep(job: JobView): JobStepView | undefined {
  return (
    job.steps.find((s) => s.state === 'running') ??
    job.steps.find((s) => s.state === 'failed' || s.state === 'cancelled') ??
    [...job.steps].reverse().find((s) => s.state !== 'pending')
  );
}

export const JOB_LIST_HEADERS = [
  'JOB',
  'STATE',
  'DATASET',
  'REASON',
  'ATTEMPT',
  'STEP',
  'CREATED',
  'DURATION',
];

/** `sepal jobs ls`: one row per job. */
export function jobRows(jobs: JobView[], now: number): Cell[][] {
  return jobs.map((job) => {
    const step = currentStep(job);
    return [
      shortJobId(job.id),
      job.state,
      job.dataset || '-',
      job.reason || '-',
      job.attempt,
      step ? `${step.title} (${step.state})` : '-',
      formatTime(job.createdAt),
      span(job.startedAt, job.endedAt, now),
    ];
  });
}

export const STEP_HEADERS = ['STEP', 'STATE', 'ATTEMPT', 'STARTED', 'DURATION', 'WORKER', 'SUMMARY', 'ERROR'];

/** `sepal jobs show`: one row per step, in the order they run; the error cut to one short line. */
export function stepRows(job: JobView, now: number): Cell[][] {
  return job.steps.map((s) => [
    s.title,
    s.state,
    s.attempt,
    s.startedAt ? formatTime(s.startedAt) : '',
    span(s.startedAt, s.endedAt, now),
    s.worker ?? '',
    summaryText(s.summary),
    s.error ? clip(s.error, 60) : '',
  ]);
}

/** `sepal jobs show`: the job, then its step table. */
export function describeJob(job: JobView, now: number): string {
  const duration = span(job.startedAt, job.endedAt, now);
  const lines = [
    `job ${job.id}`,
    `state:       ${job.state}    attempt: ${job.attempt}    reason: ${job.reason || '-'}    requested by: ${job.requestedBy ?? '-'}`,
    `dataset:     ${job.dataset || '-'} ${job.datasetVersion ? job.datasetVersion.slice(0, 12) : ''}`.trimEnd(),
    `created:     ${formatTime(job.createdAt)}    started: ${formatTime(job.startedAt)}    ended: ${formatTime(job.endedAt)}${duration ? `    (${duration})` : ''}`,
    `sweep run:   ${job.parentRunId ?? '-'}    correlation: ${job.correlationId}`,
    `model:       ${job.modelName ? `${job.modelName}${job.modelVersion !== null ? ` v${job.modelVersion}` : ''}` : '-'}`,
    ...(job.cancelRequested ? ['cancel:      requested'] : []),
    ...(job.error ? [`error:       ${job.error}`] : []),
    '',
    formatTable(STEP_HEADERS, stepRows(job, now)),
  ];
  return lines.join('\n');
}

/** One line for a step that changed, as `sepal train` prints it while it follows the job. */
export function stepChangeLine(step: JobStepView): string {
  const attempt = step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
  const summary = summaryText(step.summary);
  const ended = step.startedAt && step.endedAt;
  const timing =
    step.state === 'running'
      ? step.worker
        ? ` on ${step.worker}`
        : ''
      : ended
        ? `${step.state === 'succeeded' ? ' in' : ' after'} ${span(step.startedAt, step.endedAt, 0)}`
        : '';
  return (
    `step ${step.title}: ${step.state}${timing}${attempt}` +
    (summary ? `  ${summary}` : '') +
    (step.error ? `: ${clip(step.error, 200)}` : '')
  );
}

/** The end of `sepal train`'s summary: the job's state and, when a step failed, which one and why. */
export function jobOutcome(job: JobView, now: number): string {
  const duration = span(job.startedAt, job.endedAt, now);
  const ended = TERMINAL_JOB_STATES.includes(job.state);
  const lines = [
    `job ${job.id}  ${job.state}${duration ? `${ended ? ' in' : ' for'} ${duration}` : ''}  attempt ${job.attempt}` +
      (job.modelName && job.modelVersion !== null ? `  model ${job.modelName} v${job.modelVersion}` : ''),
  ];
  if (!ended) {
    lines.push(
      job.steps.every((s) => s.state === 'pending')
        ? '(no step of it was reported: the trainer predates job steps, so its record stays queued)'
        : `(its record has not ended yet: sepal jobs show ${job.id})`,
    );
  }
  const failed = job.steps.find((s) => s.state === 'failed');
  if (failed) lines.push(`failed step: ${failed.title}: ${failed.error ?? 'no error reported'}`);
  else if (job.error) lines.push(`error: ${job.error}`);
  return lines.join('\n');
}

/**
 * The registry's hints name its REST routes (`POST /jobs/<id>/retry runs it again.`); a CLI user is told the command
 * that does the same.
 */
export function cliHint(hint: string): string {
  return hint
    .replace(/POST \/jobs\/([^/\s]+)\/retry/g, 'sepal jobs retry $1')
    .replace(/DELETE \/jobs\/([^/\s]+)/g, 'sepal jobs cancel $1')
    .replace(/GET \/jobs\b/g, 'sepal jobs ls');
}
