import { TERMINAL_JOB_STATES, type JobView } from '@sepal/contracts';
import { shortJobId, stepChangeLine } from '../jobs/job-format';

/**
 * Turns successive views of one job into the lines a person following it reads: one per step each time it moves to
 * another state (or attempt), and one when a cancel is asked. Pending steps say nothing.
 */
export class StepChanges {
  private readonly printed = new Map<string, string>();
  private cancelling = false;

  lines(job: JobView): string[] {
    const lines: string[] = [];
    for (const step of job.steps) {
      if (step.state === 'pending') continue;
      const key = `${step.attempt}:${step.state}`;
      if (this.printed.get(step.step) === key) continue;
      this.printed.set(step.step, key);
      lines.push(stepChangeLine(step));
    }
    if (job.state === 'cancelling' && !this.cancelling) {
      lines.push(`job ${shortJobId(job.id)}: cancel requested, waiting for its trainer to stop`);
    }
    this.cancelling = job.state === 'cancelling';
    return lines;
  }
}

export interface FollowLimits {
  /** How long the job's record may be missing (a 404) once its parent run ended: then it is an older registry. */
  jobWaitMs: number;
  /** How long the job and its sweep's parent run may end apart (the trainer reports both, one after the other). */
  settleMs: number;
}

export interface FollowSnapshot {
  /** The job's record, the latest seen (null: the registry has not answered it yet). */
  job: JobView | null;
  /** Whether the sweep's parent run exists and is still running. */
  parentRunning: boolean;
  /** How long ago the sweep's parent run ended; null while it runs or before it exists. */
  parentEndedForMs: number | null;
  /** How long ago the job was first seen in a terminal state; null until then. */
  jobEndedForMs: number | null;
  /** How long the CLI has followed. */
  elapsedMs: number;
}

/**
 * When `sepal train` stops following. `job`: the job reached a terminal state and its parent run ended too (or it
 * has none, e.g. it failed resolving its data; or the run did not end within `settleMs`), so the summary shows both.
 * `runs` (the behaviour before jobs were recorded): the parent run ended and the job cannot be followed to its end:
 * its record has not appeared in `jobWaitMs` (an older registry), it has no step reported (a trainer that reports
 * none: one that does reports its first steps long before the sweep ends), or it did not end within `settleMs`.
 * Null: keep following.
 */
export function followVerdict(snapshot: FollowSnapshot, limits: FollowLimits): 'job' | 'runs' | null {
  const { job, parentRunning, parentEndedForMs, jobEndedForMs, elapsedMs } = snapshot;
  if (job && TERMINAL_JOB_STATES.includes(job.state)) {
    return !parentRunning || (jobEndedForMs ?? 0) >= limits.settleMs ? 'job' : null;
  }
  if (parentEndedForMs === null) return null;
  if (!job) return elapsedMs >= limits.jobWaitMs ? 'runs' : null;
  if (job.steps.every((step) => step.state === 'pending')) return 'runs';
  return parentEndedForMs >= limits.settleMs ? 'runs' : null;
}
