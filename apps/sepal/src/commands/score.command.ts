import { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { BatchJobView } from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

interface ScoreOptions {
  dataset?: string;
  datasetVersion: string;
  split: string;
  file?: string;
  alias?: string;
  modelVersion?: string;
  job?: string;
  wait?: boolean;
  output?: string;
}

const ENDED = ['succeeded', 'failed', 'cancelled'];

/** "running, score 45% (450000/1000000 rows)": a batch job's state and progress. */
export function batchProgress(job: BatchJobView): string {
  const score = job.steps.find((s) => s.step === 'score');
  const done = Number(score?.summary.rowsScored ?? 0);
  const total = Number(
    job.steps.find((s) => s.step === 'resolve-input')?.summary.rowsTotal ?? score?.summary.rowsTotal ?? 0,
  );
  const progress = total > 0 ? `, ${Math.floor((100 * done) / total)}% (${done}/${total} rows)` : '';
  return `${job.id}: ${job.state}${progress}${job.error ? `: ${job.error}` : ''}`;
}

/** `sepal score`: a batch scoring job on the registry (docs/prediction-log.md "Batch scoring"). */
export function scoreCommand(context: CliContext): Command {
  const client = () => serviceClient(context, 'registry');
  return new Command('score')
    .description(
      'Score a dataset version or a CSV file with a model as a batch job; --wait follows it, -o saves its output CSV.',
    )
    .argument('[model]', 'the registered model (not with --job)')
    .option('--dataset <name>', 'score this dataset')
    .option('--dataset-version <ref>', "its version: 'latest', v3, an id or a prefix", 'latest')
    .option('--split <split>', 'all, train or test', 'all')
    .option('--file <csv>', 'score this CSV file instead (a header naming the features)')
    .option('--alias <alias>', 'the model version an alias points at now (default champion)')
    .option('--model-version <n>', 'this model version instead of an alias')
    .option('--job <id>', 'follow (and download) an existing batch job instead of starting one')
    .option('--wait', 'wait until the job ends, printing its progress')
    .option('-o, --output <file>', 'wait, then write the output CSV to this file')
    .action(async (model: string | undefined, options: ScoreOptions, cmd: Command) => {
      const printer = new Printer(Boolean(cmd.optsWithGlobals().json));
      let job: BatchJobView;
      if (options.job)
        job = await client().get<BatchJobView>(`/batch-jobs/${encodeURIComponent(options.job)}`);
      else job = await start(model, options);
      if (options.wait || options.output) job = await follow(job, printer);
      printer.result(job, () => batchProgress(job));
      if (options.output && job.state === 'succeeded') {
        await writeFile(
          options.output,
          await client().text(`/batch-jobs/${encodeURIComponent(job.id)}/output.csv`),
        );
        printer.note(
          `output: ${options.output} (${job.output?.rows} rows, ${job.output?.errorRows} not matching the model)`,
        );
      }
      if (!options.wait && !options.output && !ENDED.includes(job.state)) {
        printer.note(`follow it: sepal score --job ${job.id} --wait -o output.csv`);
      }
      if ((options.wait || options.output) && job.state !== 'succeeded') process.exitCode = 1;
    });

  async function start(model: string | undefined, options: ScoreOptions): Promise<BatchJobView> {
    if (!model) throw new Error('name the model to score with (or --job <id>)');
    if (Boolean(options.dataset) === Boolean(options.file)) {
      throw new Error('name either --dataset or --file');
    }
    const version = options.modelVersion === undefined ? undefined : Number(options.modelVersion);
    if (options.file) {
      const query = new URLSearchParams({ model });
      if (options.alias) query.set('alias', options.alias);
      if (version !== undefined) query.set('version', String(version));
      return client().post<BatchJobView>(`/batch-jobs?${query}`, undefined, {
        upload: { body: createReadStream(options.file), contentType: 'text/csv' },
      });
    }
    return client().post<BatchJobView>('/batch-jobs', {
      model,
      ...(options.alias ? { alias: options.alias } : {}),
      ...(version !== undefined ? { version } : {}),
      dataset: options.dataset,
      datasetVersion: options.datasetVersion,
      split: options.split,
    });
  }

  async function follow(first: BatchJobView, printer: Printer): Promise<BatchJobView> {
    let job = first;
    let said = '';
    while (!ENDED.includes(job.state)) {
      const now = batchProgress(job);
      if (now !== said) printer.note(now);
      said = now;
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await client().get<BatchJobView>(`/batch-jobs/${encodeURIComponent(job.id)}`);
    }
    return job;
  }
}
