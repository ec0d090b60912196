import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { predictionExportResponseSchema, predictionLogPageSchema } from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

interface WindowOptions {
  version?: string;
  from?: string;
  to?: string;
  limit?: string;
}

/** The query string of the prediction log's filters (the data service checks each and names a bad one). */
function windowQuery(
  model: string,
  options: WindowOptions,
  extra: Record<string, string | undefined> = {},
): string {
  const query = new URLSearchParams({ model });
  for (const [name, value] of Object.entries({ ...options, ...extra }))
    if (value !== undefined) query.set(name, value);
  return query.toString();
}

const withWindow = (command: Command): Command =>
  command
    .argument('<model>')
    .option('-v, --version <n>', 'only this model version')
    .option('--from <time>', 'from this time (ISO 8601, inclusive)')
    .option('--to <time>', 'until this time (ISO 8601, exclusive)');

/** `sepal predictions ls|export`: the prediction log of the data service (docs/prediction-log.md). */
export function predictionsCommand(context: CliContext): Command {
  const client = () => serviceClient(context, 'data');
  const predictions = new Command('predictions').description(
    'The prediction log: logged predictions by model, version and time window, with their labels.',
  );

  withWindow(predictions.command('ls'))
    .description('List logged predictions, oldest first (one page; --after the last id for the next).')
    .option('-n, --limit <n>', 'rows (at most 1000)', '50')
    .option('--after <id>', 'the last prediction id of the previous page')
    .action(async (model: string, options: WindowOptions & { after?: string }, cmd: Command) => {
      const page = await client().get(`/predictions?${windowQuery(model, options)}`, {
        schema: predictionLogPageSchema,
      });
      new Printer(Boolean(cmd.optsWithGlobals().json)).table(
        page,
        ['PREDICTION', 'TIME', 'VERSION', 'ANSWER', 'LABEL', 'KEY', 'MS'],
        page.items.map((e) => [
          e.predictionId,
          e.at,
          e.version,
          'class' in e.output ? e.output.class : e.output.value,
          e.label,
          e.keyName,
          e.latencyMs.toFixed(2),
        ]),
      );
      if (page.next && !cmd.optsWithGlobals().json) process.stdout.write(`next page: --after ${page.next}\n`);
    });

  withWindow(predictions.command('export'))
    .description(
      'Export logged predictions as CSV (inputs as columns, prediction, label) to a file or stdout, or with ' +
        '--to-dataset into a new version of a dataset (train split only; the version records the window).',
    )
    .option('-n, --limit <n>', 'rows (at most 100000)', '10000')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('--to-dataset <name>', 'append them to this dataset as a new version instead (scope data:write)')
    .option(
      '--labels <which>',
      "with --to-dataset: 'labelled' (only predictions a label joined) or 'predicted' (the model's answer where none did)",
      'labelled',
    )
    .action(
      async (
        model: string,
        options: WindowOptions & { output?: string; toDataset?: string; labels: string },
        cmd: Command,
      ) => {
        const { output, toDataset, labels, ...window } = options;
        if (toDataset !== undefined) {
          if (output !== undefined) throw new Error('--output and --to-dataset exclude each other');
          const result = await client().post(
            '/predictions/export',
            {
              model,
              dataset: toDataset,
              labels,
              ...(window.version !== undefined ? { version: Number(window.version) } : {}),
              ...(window.from !== undefined ? { from: window.from } : {}),
              ...(window.to !== undefined ? { to: window.to } : {}),
              ...(window.limit !== undefined ? { limit: Number(window.limit) } : {}),
            },
            { schema: predictionExportResponseSchema },
          );
          const { skipped } = result;
          new Printer(Boolean(cmd.optsWithGlobals().json)).result(
            result,
            () =>
              `Exported ${result.exported} of ${result.read} logged prediction(s) into ${toDataset} ` +
              `v${result.version.seq} ${result.version.id} (${result.labelled} labelled, ${result.predicted} with ` +
              `the model's answer)\nskipped: ${skipped.unlabelled} without a label, ${skipped.alreadyInDataset} ` +
              `already in the dataset, ${skipped.invalid} not fitting its schema` +
              result.problems.map((p) => `\n  ${p}`).join(''),
          );
          return;
        }
        const csv = await client().text(`/predictions/export.csv?${windowQuery(model, window)}`);
        if (output) await writeFile(output, csv);
        else process.stdout.write(csv);
      },
    );
  return predictions;
}
