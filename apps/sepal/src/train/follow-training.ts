import { MultiBar, Presets, SingleBar } from 'cli-progress';
import type { RunPage, RunView } from '@sepal/contracts';
import { ServiceClient } from '@sepal/http-client';
import { formatTable } from '../output/table';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (value: number | undefined) => (value === undefined ? '' : value.toFixed(4));

/**
 * A bar's format, its name written in: cli-progress fills in no payload (such as a `{name}`) for a bar it creates on a
 * stream that is not a terminal, yet still draws the bar once when it stops.
 */
const barFormat = (name: string) => `${name} [{bar}] {value}/{total} {info}`;

/**
 * Follows a training job by polling the registry for the runs of its correlation id (this works whichever trainer
 * replica runs the job), with progress bars on `stream` when `bars` is set; resolves with the runs once the parent
 * run ended.
 */
export async function follow(
  registry: Pick<ServiceClient, 'get'>,
  correlationId: string,
  timeoutMs: number,
  bars: boolean,
  stream: NodeJS.WritableStream = process.stderr,
) {
  const filter = encodeURIComponent(`correlation_id = '${correlationId}'`);
  const multibar = bars
    ? new MultiBar({ hideCursor: true, clearOnComplete: false, stream }, Presets.shades_classic)
    : undefined;
  let trialBar: SingleBar | undefined;
  let epochBar: SingleBar | undefined;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { runs } = await registry.get<RunPage>(`/runs?limit=1000&filter=${filter}`);
      const parent = runs.find((run) => run.parentRunId === null);
      const trials = runs.filter((run) => run.parentRunId !== null);
      if (multibar && parent) {
        const total = Number(parent.params.trials) || 1;
        trialBar ??= multibar.create(total, 0, { info: '' }, { format: barFormat('trials') });
        epochBar ??= multibar.create(1, 0, { info: '' }, { format: barFormat('epoch ') });
        const done = trials.filter((run) => run.status !== 'running').length;
        trialBar.setTotal(total);
        trialBar.update(done, { info: `best val_accuracy ${fmt(parent.metrics.best_val_accuracy)}` });
        const current =
          trials.find((run) => run.status === 'running') ??
          [...trials].sort((a, b) => Number(b.tags.trial) - Number(a.tags.trial))[0];
        if (current) {
          epochBar.setTotal(Number(current.params.epochs) || 1);
          epochBar.update(current.metrics.epoch ?? 0, {
            info: `trial ${current.tags.trial}/${total} val_accuracy ${fmt(current.metrics.val_accuracy)}`,
          });
        } else {
          epochBar.update(0, { info: 'waiting for the first trial' });
        }
      }
      if (parent && parent.status !== 'running') return runs;
      if (Date.now() > deadline)
        throw new Error(`still running after ${timeoutMs / 1000} s; follow it in the registry`);
      await sleep(500);
    }
  } finally {
    multibar?.stop();
  }
}

/** The summary table of a sweep's trials, then the selected model's test metrics and the gate's decision. */
export function summary(parent: RunView | undefined, trials: RunView[]): string {
  if (!parent) return '(no run recorded)';
  const selected = Number(parent.metrics.selected_trial);
  const grid = Object.keys(JSON.parse(String(parent.params.grid ?? '{}')) as object);
  const table = formatTable(
    ['trial', ...grid, 'status', 'epochs', 'best epoch', 'val_accuracy', 'val_loss', ''],
    trials.map((run) => [
      run.tags.trial,
      ...grid.map((name) => String(run.params[name] ?? '')),
      run.status,
      run.metrics.epochs_run,
      run.metrics.best_epoch,
      fmt(run.metrics.val_accuracy),
      fmt(run.metrics.val_loss),
      Number(run.tags.trial) === selected ? '<- selected' : '',
    ]),
  );
  const lines = [table, '', `run ${parent.id}  status ${parent.status}  backend ${parent.backend ?? '?'}`];
  if (parent.status === 'finished') {
    lines.push(
      `test: accuracy ${fmt(parent.metrics.test_accuracy)}  macro-F1 ${fmt(parent.metrics.test_macro_f1)}  ` +
        `log loss ${fmt(parent.metrics.test_log_loss)}  ONNX parity max |diff| ${parent.metrics.onnx_parity_max_abs_diff}`,
      `model ${parent.tags.model_name} v${parent.tags.model_version}: ${parent.tags.gate_decision} (${parent.tags.gate_reason})`,
    );
  } else if (parent.error) {
    lines.push(`error: ${parent.error}`);
  }
  return lines.join('\n');
}
