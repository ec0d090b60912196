import { Command } from 'commander';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import type { RunPage, RunView, TrainAcceptedResponse } from '@sepal/contracts';
import { parseGridArg } from '@sepal/ml';
import { ServiceClient } from '../client/http-client';
import { Printer } from '../output/printer';
import { formatTable } from '../output/table';
import { CliContext } from './cli-context';

interface TrainOptions {
  dataset: string;
  version?: string;
  grid?: string;
  params?: string;
  model?: string;
  seed?: string;
  follow: boolean;
  timeout: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (value: number | undefined) => (value === undefined ? '' : value.toFixed(4));

/** `learningRate=0.001,0.01;hiddenUnits=8,16` → grid; `epochs=50;optimizer=sgd` → params (one value each). */
function parseAssignments(text: string, what: 'grid' | 'params'): Record<string, (number | string)[]> {
  const parsed = parseGridArg(text);
  if (!parsed.ok) throw new Error(`--${what}: ${parsed.errors.join('; ')}`);
  if (what === 'params') {
    const multi = Object.entries(parsed.value).filter(([, values]) => values.length !== 1);
    if (multi.length)
      throw new Error(`--params: give one value per parameter (${multi.map(([n]) => n).join(', ')})`);
  }
  return parsed.value;
}

/**
 * `sepal train --dataset iris [--grid ...]`: POST /train on the trainer, then follows the job by polling the registry
 * for the runs of its correlation id (this works whichever trainer replica runs the job; GET /jobs/:id only knows the
 * replica's own jobs), with progress bars, and prints the summary table of the trials.
 */
export function trainCommand(context: CliContext): Command {
  return new Command('train')
    .description('Request a training job (grid search) and follow it to the registered model.')
    .requiredOption('-d, --dataset <name>', 'dataset name, e.g. iris')
    .option('-v, --version <ref>', "dataset version: 'latest' (default), v2, an id or a prefix")
    .option(
      '-g, --grid <grid>',
      'e.g. "learningRate=0.001,0.01;hiddenUnits=8,16" (default: the built-in grid)',
    )
    .option('-p, --params <params>', 'fixed parameters, e.g. "epochs=50;optimizer=sgd"')
    .option(
      '-m, --model <name>',
      'registered model name (default IrisModel for iris, WineQualityRedModel for wine-quality-red)',
    )
    .option('--seed <n>', 'training seed')
    .option('--no-follow', 'print the job id and return at once')
    .option('--timeout <seconds>', 'stop following after this long', '1800')
    .action(async (options: TrainOptions, cmd: Command) => {
      const printer = new Printer(Boolean(cmd.optsWithGlobals().json));
      const trainer = new ServiceClient({
        baseUrl: context.urls.trainer,
        apiKey: context.apiKey,
        service: 'trainer',
      });
      const registry = new ServiceClient({
        baseUrl: context.urls.registry,
        apiKey: context.apiKey,
        service: 'registry',
      });
      const params = options.params
        ? Object.fromEntries(
            Object.entries(parseAssignments(options.params, 'params')).map(([k, [v]]) => [k, v]),
          )
        : undefined;
      const accepted = await trainer.post<TrainAcceptedResponse>('/train', {
        dataset: options.dataset,
        ...(options.version ? { version: options.version } : {}),
        ...(options.grid ? { grid: parseAssignments(options.grid, 'grid') } : {}),
        ...(params ? { params } : {}),
        ...(options.model ? { modelName: options.model } : {}),
        ...(options.seed !== undefined ? { seed: Number(options.seed) } : {}),
        requestedBy: 'cli',
      });
      printer.line(`Job ${accepted.jobId} requested (correlation id ${accepted.correlationId}).`);
      if (!options.follow) {
        printer.result(accepted, () => '');
        return;
      }
      const runs = await follow(
        registry,
        accepted.correlationId,
        Number(options.timeout) * 1000,
        !printer.json,
      );
      const parent = runs.find((run) => run.parentRunId === null);
      const trials = runs
        .filter((run) => run.parentRunId !== null)
        .sort((a, b) => Number(a.tags.trial) - Number(b.tags.trial));
      printer.result({ job: accepted, parent, trials }, () => summary(parent, trials));
      if (parent?.status !== 'finished')
        throw new Error(`training failed: ${parent?.error ?? 'unknown reason'}`);
    });
}

async function follow(registry: ServiceClient, correlationId: string, timeoutMs: number, bars: boolean) {
  const filter = encodeURIComponent(`correlation_id = '${correlationId}'`);
  const multibar = bars
    ? new MultiBar(
        { format: '{name} [{bar}] {value}/{total} {info}', hideCursor: true, clearOnComplete: false },
        Presets.shades_classic,
      )
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
        trialBar ??= multibar.create(total, 0, { name: 'trials', info: '' });
        epochBar ??= multibar.create(1, 0, { name: 'epoch ', info: '' });
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

function summary(parent: RunView | undefined, trials: RunView[]): string {
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
