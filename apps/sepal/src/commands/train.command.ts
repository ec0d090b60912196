import { Command } from 'commander';
import type { TrainAcceptedResponse } from '@sepal/contracts';
import { parseGridArg } from '@sepal/ml';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { follow, summary, trainingFailure } from '../train/follow-training';
import { CliContext } from './cli-context';

interface TrainOptions {
  dataset: string;
  version?: string;
  grid?: string;
  params?: string;
  model?: string;
  seed?: string;
  budget?: string;
  follow: boolean;
  timeout: string;
}

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

/** Grids separated by `|` (e.g. one per model family) become a list of grids; a single one stays an object. */
function parseGrids(
  text: string,
): Record<string, (number | string)[]> | Record<string, (number | string)[]>[] {
  const grids = text.split('|').map((part) => parseAssignments(part, 'grid'));
  return grids.length === 1 ? grids[0] : grids;
}

/**
 * `sepal train --dataset iris [--grid ...]`: POST /train on the trainer, then follows the job in the registry: a line
 * per step as it changes, progress bars of the trials from the runs of its correlation id (whichever trainer replica
 * runs it), and at the end the summary table of the trials and the job's final state.
 */
export function trainCommand(context: CliContext): Command {
  return new Command('train')
    .description('Request a training job (grid search) and follow it to the registered model.')
    .requiredOption('-d, --dataset <name>', 'dataset name, e.g. iris')
    .option('-v, --version <ref>', "dataset version: 'latest' (default), v2, an id or a prefix")
    .option(
      '-g, --grid <grid>',
      'e.g. "learningRate=0.001,0.01;hiddenUnits=8,16"; families: "model=forest;trees=100,300 | ' +
        'model=gbdt;learningRate=0.05,0.1" (default: the built-in grids, fitted to the budget)',
    )
    .option('--budget <seconds>', "training-time budget of the sweep (default: the trainer's TRAIN_BUDGET_S)")
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
      const trainer = serviceClient(context, 'trainer');
      const registry = serviceClient(context, 'registry');
      const params = options.params
        ? Object.fromEntries(
            Object.entries(parseAssignments(options.params, 'params')).map(([k, [v]]) => [k, v]),
          )
        : undefined;
      const accepted = await trainer.post<TrainAcceptedResponse>('/train', {
        dataset: options.dataset,
        ...(options.version ? { version: options.version } : {}),
        ...(options.grid ? { grid: parseGrids(options.grid) } : {}),
        ...(options.budget !== undefined ? { budgetSeconds: Number(options.budget) } : {}),
        ...(params ? { params } : {}),
        ...(options.model ? { modelName: options.model } : {}),
        ...(options.seed !== undefined ? { seed: Number(options.seed) } : {}),
      });
      printer.line(`Job ${accepted.jobId} requested (correlation id ${accepted.correlationId}).`);
      if (!options.follow) {
        printer.result(accepted, () => `Follow it: sepal jobs show ${accepted.jobId}`);
        return;
      }
      const followed = await follow(registry, accepted, {
        timeoutMs: Number(options.timeout) * 1000,
        bars: !printer.json,
        log: printer.json ? undefined : (line) => printer.line(line),
      });
      const { job, parent, trials } = followed;
      printer.result({ job: accepted, jobRecord: job, parent, trials }, () => summary(followed));
      const failure = trainingFailure(followed);
      if (failure) throw new Error(failure);
    });
}
