import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { TERMINAL_JOB_STATES, type JobView, type RunPage, type RunView } from '@sepal/contracts';
import { ServiceClient } from '@sepal/http-client';
import { findJob } from '../jobs/job-client';
import { jobOutcome } from '../jobs/job-format';
import { formatTable } from '../output/table';
import { FollowLimits, followVerdict, StepChanges } from './job-progress';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (value: number | undefined) => (value === undefined ? '' : value.toFixed(4));

export interface FollowOptions extends Partial<FollowLimits> {
  timeoutMs: number;
  /** Progress bars of the trials and the current trial's epochs (people), on `stream` (standard error). */
  bars: boolean;
  stream?: NodeJS.WritableStream;
  /** Where a line goes each time a step of the job changes; nothing is printed without it (--json). */
  log?: (line: string) => void;
  pollMs?: number;
}

export interface FollowResult {
  /** The job's record when the registry keeps one (null: an older registry). */
  job: JobView | null;
  /** The sweep's parent run, and its trials in order. */
  parent: RunView | undefined;
  trials: RunView[];
}

/**
 * Time for the registry to record the job from train.requested (then an older registry is assumed and the runs alone
 * followed), and for a job and its parent run to end one after the other.
 */
const DEFAULT_LIMITS: FollowLimits = { jobWaitMs: 15_000, settleMs: 15_000 };

/**
 * A bar's format, its name written in: cli-progress fills in no payload (such as a `{name}`) for a bar it creates on a
 * stream that is not a terminal, yet still draws the bar once when it stops.
 */
const barFormat = (name: string) => `${name} [{bar}] {value}/{total} {info}`;

/**
 * Follows a training job: its record in the registry (GET /jobs/:id, a line per step as it changes) until it ends,
 * and the runs of its correlation id (the progress bars of the trials, on `stream`). The registry records the job a
 * moment after the trainer accepted it (a 404 meanwhile is expected); an older registry never does, and then the job
 * ends with its parent run, as before jobs were recorded.
 */
export async function follow(
  registry: Pick<ServiceClient, 'get'>,
  accepted: { jobId: string; correlationId: string },
  options: FollowOptions,
): Promise<FollowResult> {
  const limits: FollowLimits = {
    jobWaitMs: options.jobWaitMs ?? DEFAULT_LIMITS.jobWaitMs,
    settleMs: options.settleMs ?? DEFAULT_LIMITS.settleMs,
  };
  const filter = encodeURIComponent(`correlation_id = '${accepted.correlationId}'`);
  const stream = options.stream ?? process.stderr;
  const multibar = options.bars
    ? new MultiBar(
        // forceRedraw: a line logged above the bars overwrites them; unchanged bars are otherwise not drawn again.
        { hideCursor: true, clearOnComplete: false, forceRedraw: true, stream },
        Presets.shades_classic,
      )
    : undefined;
  // Above the bars while they are drawn (a terminal), else straight out.
  const say = (line: string) => (multibar?.isActive ? multibar.log(`${line}\n`) : options.log?.(line));
  const changes = new StepChanges();
  let trialBar: SingleBar | undefined;
  let epochBar: SingleBar | undefined;
  let job: JobView | null = null;
  let parentEndedAt: number | null = null;
  let jobEndedAt: number | null = null;
  const start = Date.now();
  try {
    for (;;) {
      const [{ runs }, latest] = await Promise.all([
        registry.get<RunPage>(`/runs?limit=1000&filter=${filter}`),
        findJob(registry, accepted.jobId),
      ]);
      job = latest ?? job;
      const parents = runs.filter((run) => run.parentRunId === null);
      // A retried job has a parent run per attempt: the job names the current one.
      const parent = parents.find((run) => run.id === job?.parentRunId) ?? parents[0];
      const trials = runs
        .filter((run) => parent && run.parentRunId === parent.id)
        .sort((a, b) => Number(a.tags.trial) - Number(b.tags.trial));
      if (multibar && parent) {
        const total = Number(parent.params.trials) || 1;
        trialBar ??= multibar.create(total, 0, { info: '' }, { format: barFormat('trials') });
        epochBar ??= multibar.create(1, 0, { info: '' }, { format: barFormat('epoch ') });
        const done = trials.filter((run) => run.status !== 'running').length;
        trialBar.setTotal(total);
        const best =
          parent.metrics.best_val_rmse !== undefined
            ? `best val_rmse ${fmt(parent.metrics.best_val_rmse)}`
            : `best val_accuracy ${fmt(parent.metrics.best_val_accuracy)}`;
        trialBar.update(done, { info: best });
        const current =
          trials.find((run) => run.status === 'running') ??
          [...trials].sort((a, b) => Number(b.tags.trial) - Number(a.tags.trial))[0];
        if (current) {
          epochBar.setTotal(
            Number(current.params.epochs ?? current.params.rounds ?? current.params.trees) || 1,
          );
          epochBar.update(current.metrics.epoch ?? 0, {
            info:
              current.metrics.val_rmse !== undefined
                ? `trial ${current.tags.trial}/${total} val_rmse ${fmt(current.metrics.val_rmse)}`
                : `trial ${current.tags.trial}/${total} val_accuracy ${fmt(current.metrics.val_accuracy)}`,
          });
        } else {
          epochBar.update(0, { info: 'waiting for the first trial' });
        }
      }
      // After the bars are drawn (once the sweep has a run), so that the lines go above them.
      if (job && options.log) changes.lines(job).forEach(say);
      const now = Date.now();
      if (parent && parent.status !== 'running') parentEndedAt ??= now;
      if (job && TERMINAL_JOB_STATES.includes(job.state)) jobEndedAt ??= now;
      const since = (time: number | null) => (time === null ? null : now - time);
      const verdict = followVerdict(
        {
          job,
          parentRunning: parent?.status === 'running',
          parentEndedForMs: since(parentEndedAt),
          jobEndedForMs: since(jobEndedAt),
          elapsedMs: now - start,
        },
        limits,
      );
      if (verdict) return { job, parent, trials };
      if (now - start > options.timeoutMs) {
        throw new Error(
          `still running after ${options.timeoutMs / 1000} s; follow it with: sepal jobs show ${accepted.jobId}`,
        );
      }
      await sleep(options.pollMs ?? 500);
    }
  } finally {
    if (multibar?.isActive) multibar.update(); // writes the lines still waiting above the bars
    multibar?.stop();
  }
}

/**
 * The summary of a followed job: the table of its sweep's trials, the selected model's test metrics and the gate's
 * decision, then the job's final state and the error of its failed step, if any.
 */
export function summary({ job, parent, trials }: FollowResult, now = Date.now()): string {
  const outcome = job ? jobOutcome(job, now) : undefined;
  const sweep = sweepSummary(parent, trials);
  return outcome ? `${sweep}\n\n${outcome}` : sweep;
}

/**
 * What to say when a followed job did not succeed, or null when it did: from its record when it ended there (a job that failed
 * before its sweep started has no run), else from its parent run.
 */
export function trainingFailure({ job, parent }: FollowResult): string | null {
  if (job && TERMINAL_JOB_STATES.includes(job.state)) {
    if (job.state === 'succeeded') return null;
    return `training job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`;
  }
  return parent?.status === 'finished' ? null : `training failed: ${parent?.error ?? 'unknown reason'}`;
}

function sweepSummary(parent: RunView | undefined, trials: RunView[]): string {
  if (!parent) return '(no run recorded)';
  const selected = Number(parent.metrics.selected_trial);
  const grid = Object.keys(JSON.parse(String(parent.params.grid ?? '{}')) as object);
  // A regression sweep records val_rmse where a classification records val_accuracy.
  const regression = trials.some((run) => run.metrics.val_rmse !== undefined);
  const score = regression ? 'val_rmse' : 'val_accuracy';
  const table = formatTable(
    ['trial', ...grid, 'status', 'epochs', 'best epoch', score, 'val_loss', ''],
    trials.map((run) => [
      run.tags.trial,
      ...grid.map((name) => String(run.params[name] ?? '')),
      run.status,
      run.metrics.epochs_run,
      run.metrics.best_epoch,
      fmt(run.metrics[score]),
      fmt(run.metrics.val_loss),
      Number(run.tags.trial) === selected ? '<- selected' : '',
    ]),
  );
  const lines = [table, '', `run ${parent.id}  status ${parent.status}  backend ${parent.backend ?? '?'}`];
  if (parent.status === 'finished') {
    const m = parent.metrics;
    lines.push(
      m.test_rmse !== undefined
        ? `test: RMSE ${fmt(m.test_rmse)}  MAE ${fmt(m.test_mae)}  R² ${fmt(m.test_r2)}  ` +
            `within tolerance ${fmt(m.test_within_tolerance)}  ONNX parity max |diff| ${m.onnx_parity_max_abs_diff}`
        : `test: accuracy ${fmt(m.test_accuracy)}  macro-F1 ${fmt(m.test_macro_f1)}  ` +
            `log loss ${fmt(m.test_log_loss)}  ONNX parity max |diff| ${m.onnx_parity_max_abs_diff}`,
      `model ${parent.tags.model_name} v${parent.tags.model_version}: ${parent.tags.gate_decision} (${parent.tags.gate_reason})`,
    );
  } else if (parent.error) {
    lines.push(`error: ${parent.error}`);
  }
  return lines.join('\n');
}
