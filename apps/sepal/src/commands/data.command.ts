import { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  BUILT_IN_IMAGE_DATASETS,
  ClassCounts,
  commitFeedbackResponseSchema,
  datasetDiffSchema,
  datasetListSchema,
  DatasetVersionView,
  datasetVersionListSchema,
  datasetVersionSchema,
  featureColumnsOf,
  ImportDryRunResponse,
  importDatasetResponseSchema,
  importDryRunResponseSchema,
} from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';
import { describeImageImport, ImageCliOptions, importImages } from './data-images';

const short = (id: string | null) => (id ? id.slice(0, 12) : '-');

interface ImportCliOptions extends ImageCliOptions {
  file?: string;
  target?: string;
  task?: string;
  features?: string;
  categorical?: string;
  delimiter?: string;
  header?: boolean;
  dryRun?: boolean;
  newSchema?: boolean;
}

function describeColumns(schema: DatasetVersionView['schema']): string {
  return featureColumnsOf(schema)
    .map((c) => (c.type === 'categorical' ? `${c.name} (categorical)` : c.name))
    .join(', ');
}

function describeDryRun(dataset: string, r: ImportDryRunResponse): string {
  return [
    `Dry run of ${dataset}: nothing was written.`,
    `task:     ${r.schema.task}    target: ${r.schema.target}`,
    `features: ${describeColumns(r.schema)}`,
    ...(r.schema.task === 'classification' ? [`classes:  ${r.schema.labels.join(', ')}`] : []),
    `rows:     ${r.rowCount}`,
    r.problems.length ? `problems (${r.problems.length}):` : 'problems: none',
    ...r.problems.map((p) => `  ${p}`),
  ].join('\n');
}

function describeVersion(dataset: string, v: DatasetVersionView): string {
  const lines = [
    `${dataset} v${v.seq}  ${v.id}`,
    `parent:   ${v.parentId ?? '(none)'}`,
    `reason:   ${v.reason}    created: ${v.createdAt}`,
    `rows:     ${v.rowCount} (train ${v.trainRows}, test ${v.testRows})`,
    `task:     ${v.schema.task}    target: ${v.schema.target}`,
    `features: ${describeColumns(v.schema)}`,
    ...(v.schema.task === 'classification'
      ? ['labels:   ' + v.schema.labels.map((label, i) => `${i}=${label}`).join(', ')]
      : []),
    'class counts (train / test):',
    ...v.schema.labels.map(
      (l) => `  ${l.padEnd(20)} ${v.classCounts.train[l] ?? 0} / ${v.classCounts.test[l] ?? 0}`,
    ),
  ];
  if (v.cleaningRules.length) {
    lines.push('cleaning rules applied:');
    for (const rule of v.cleaningRules) {
      const changes = rule.changes.map((c) => `${c.feature} ${c.from} -> ${c.to}`).join(', ');
      lines.push(`  ${rule.id} (row ${rule.row}): ${changes}`);
    }
  }
  return lines.join('\n');
}

export function dataCommand(context: CliContext): Command {
  const data = new Command('data').description(
    'Import, version, inspect and export datasets (the data service).',
  );
  const client = () => serviceClient(context, 'data');
  const path = (dataset: string) => `/datasets/${encodeURIComponent(dataset)}`;
  const printer = (cmd: Command) => new Printer(Boolean(cmd.optsWithGlobals().json));

  data
    .command('import')
    .description(
      'Import a CSV (--file, streamed) or a built-in dataset’s shipped file; the first import infers the schema.',
    )
    .argument('<dataset>', 'dataset name (lowercase letters, digits, - and _), e.g. iris or house-prices')
    .option('-f, --file <path>', 'a CSV file (UTF-8; delimiter , ; or tab; header detected)')
    .option('-t, --target <column>', 'the column to predict')
    .option('--task <task>', 'classification or regression (default: guessed from the target)')
    .option('--features <columns>', 'feature columns in order, comma-separated (default: all but the target)')
    .option('--categorical <columns>', 'columns to treat as categories even if they look numeric')
    .option('--delimiter <char>', "',', ';' or 'tab' (default: detected)")
    .option('--no-header', 'the first line is data, not column names')
    .option('--dry-run', 'print the inferred schema, the row count and the problems found; write nothing')
    .option('--new-schema', 'replace the stored schema instead of refusing a file that does not fit it')
    .option(
      '--images <folder-or-zip>',
      'images: a folder (or zip) of class folders of PNG/JPEG, or of IDX pairs',
    )
    .option('--height <pixels>', 'images: the declared input height (default 28, or the IDX files’ own)')
    .option('--width <pixels>', 'images: the declared input width (default 28, or the IDX files’ own)')
    .option('--channels <n>', 'images: 1 (grey) or 3 (RGB); default 1')
    .option('--resize <policy>', 'images: stretch, fit (aspect kept, padded) or exact (refuse other sizes)')
    .option('--limit <n>', 'fashion-mnist: import only this many images (train and test in proportion)')
    .action(async (dataset: string, options: ImportCliOptions, cmd: Command) => {
      const builtInImages = (BUILT_IN_IMAGE_DATASETS as readonly string[]).includes(dataset);
      if (options.images || (builtInImages && !options.file)) {
        const result = await importImages(client(), dataset, options);
        printer(cmd).result(
          result,
          () => `${describeImageImport(result)}\n${describeVersion(dataset, result.version)}`,
        );
        return;
      }
      if (options.task && !['classification', 'regression'].includes(options.task)) {
        throw new Error(`--task must be classification or regression, not '${options.task}'`);
      }
      const query = new URLSearchParams();
      if (options.target) query.set('target', options.target);
      if (options.task) query.set('task', options.task);
      if (options.features) query.set('features', options.features);
      if (options.categorical) query.set('categorical', options.categorical);
      if (options.delimiter) query.set('delimiter', options.delimiter);
      if (options.header === false) query.set('header', 'false');
      if (options.dryRun) query.set('dryRun', 'true');
      if (options.newSchema) query.set('newSchema', 'true');
      if (options.file) query.set('fileName', basename(options.file));
      const url = `${path(dataset)}/import${query.size ? `?${query}` : ''}`;
      if (options.file)
        await access(options.file).catch(() => {
          throw new Error(`cannot read --file ${options.file}: no such file`);
        });
      const upload = options.file
        ? { body: createReadStream(options.file), contentType: 'text/csv' }
        : undefined;
      if (options.dryRun) {
        const result = await client().post(url, undefined, { schema: importDryRunResponseSchema, upload });
        printer(cmd).result(result, () => describeDryRun(dataset, result));
        return;
      }
      const result = await client().post(url, undefined, { schema: importDatasetResponseSchema, upload });
      printer(cmd).result(
        result,
        () =>
          `${result.created ? 'Created' : 'Unchanged, existing'} version v${result.version.seq} ${result.version.id}` +
          (result.rowsWritten !== undefined ? ` (${result.rowsWritten} rows written)` : '') +
          `\n${describeVersion(dataset, result.version)}`,
      );
    });

  data
    .command('ls')
    .description('List datasets, or the versions of one dataset.')
    .argument('[dataset]', 'list this dataset’s versions')
    .action(async (dataset: string | undefined, _options: unknown, cmd: Command) => {
      if (!dataset) {
        const list = await client().get('/datasets', { schema: datasetListSchema });
        printer(cmd).table(
          list,
          ['DATASET', 'VERSIONS', 'LATEST', 'DESCRIPTION'],
          list.map((d) => [d.name, d.versionCount, short(d.latestVersion), d.description]),
        );
        return;
      }
      const versions = await client().get(`${path(dataset)}/versions`, { schema: datasetVersionListSchema });
      printer(cmd).table(
        versions,
        ['VERSION', 'ID', 'PARENT', 'REASON', 'ROWS', 'TRAIN', 'TEST', 'CREATED'],
        versions.map((v) => [
          `v${v.seq}`,
          short(v.id),
          short(v.parentId),
          v.reason,
          v.rowCount,
          v.trainRows,
          v.testRows,
          v.createdAt,
        ]),
      );
    });

  data
    .command('show')
    .description('Show one version: schema, label map, class counts per split, cleaning rules.')
    .argument('<dataset>')
    .argument('[version]', "'latest', v2, or an id prefix", 'latest')
    .action(async (dataset: string, version: string, _options: unknown, cmd: Command) => {
      const v = await client().get(`${path(dataset)}/versions/${encodeURIComponent(version)}`, {
        schema: datasetVersionSchema,
      });
      printer(cmd).result(v, () => describeVersion(dataset, v));
    });

  data
    .command('diff')
    .description('Rows added and removed, and class counts before and after, between two versions.')
    .argument('<dataset>')
    .argument('<from>', 'older version')
    .argument('[to]', 'newer version', 'latest')
    .action(async (dataset: string, from: string, to: string, _options: unknown, cmd: Command) => {
      const query = new URLSearchParams({ from, to });
      const diff = await client().get(`${path(dataset)}/diff?${query}`, { schema: datasetDiffSchema });
      printer(cmd).result(diff, () => {
        const labels = Object.keys({ ...diff.from.classCounts.train, ...diff.to.classCounts.train });
        const total = (c: ClassCounts, l: string) => (c.train[l] ?? 0) + (c.test[l] ?? 0);
        return [
          `${dataset} v${diff.from.seq} (${short(diff.from.id)}) -> v${diff.to.seq} (${short(diff.to.id)})`,
          `rows added: ${diff.rowsAdded}, removed: ${diff.rowsRemoved}, moved between splits: ${diff.rowsMovedBetweenSplits}`,
          ...labels.map(
            (l) => `  ${l.padEnd(20)} ${total(diff.from.classCounts, l)} -> ${total(diff.to.classCounts, l)}`,
          ),
        ].join('\n');
      });
    });

  data
    .command('export')
    .description('Export a version (or one split) as CSV to a file or standard output.')
    .argument('<dataset>')
    .argument('[version]', "'latest', v2, or an id prefix", 'latest')
    .option('-s, --split <split>', 'train or test')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (dataset: string, version: string, options: { split?: string; output?: string }) => {
      if (options.split && !['train', 'test'].includes(options.split)) {
        throw new Error(`--split must be train or test, not '${options.split}'`);
      }
      const query = options.split ? `?split=${options.split}` : '';
      const csv = await client().text(
        `${path(dataset)}/versions/${encodeURIComponent(version)}/export.csv${query}`,
      );
      if (options.output) await writeFile(options.output, csv);
      else process.stdout.write(csv);
    });

  data
    .command('commit')
    .description('Commit every pending feedback sample into a new child version of the latest version.')
    .argument('<dataset>')
    .action(async (dataset: string, _options: unknown, cmd: Command) => {
      const result = await client().post(`${path(dataset)}/feedback/commit`, undefined, {
        schema: commitFeedbackResponseSchema,
      });
      printer(cmd).result(
        result,
        () =>
          `Committed ${result.feedbackRows} feedback row(s) into v${result.version.seq} ${result.version.id}`,
      );
    });

  return data;
}
