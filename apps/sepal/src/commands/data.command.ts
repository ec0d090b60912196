import { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  ClassCounts,
  commitFeedbackResponseSchema,
  datasetDiffSchema,
  datasetListSchema,
  DatasetVersionView,
  datasetVersionListSchema,
  datasetVersionSchema,
  importDatasetResponseSchema,
} from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

const short = (id: string | null) => (id ? id.slice(0, 12) : '-');

function describeVersion(dataset: string, v: DatasetVersionView): string {
  const lines = [
    `${dataset} v${v.seq}  ${v.id}`,
    `parent:   ${v.parentId ?? '(none)'}`,
    `reason:   ${v.reason}    created: ${v.createdAt}`,
    `rows:     ${v.rowCount} (train ${v.trainRows}, test ${v.testRows})`,
    `features: ${v.schema.features.join(', ')}    target: ${v.schema.target}`,
    'labels:   ' + v.schema.labels.map((label, i) => `${i}=${label}`).join(', '),
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
    .description('Import the shipped raw file of a dataset, or your own file in the same format (--file).')
    .argument('<dataset>', 'dataset name, e.g. iris')
    .option('-f, --file <path>', 'a raw file in the dataset’s declared format')
    .action(async (dataset: string, options: { file?: string }, cmd: Command) => {
      const body = options.file
        ? { content: await readFile(options.file, 'utf8'), fileName: basename(options.file) }
        : {};
      const result = await client().post(`${path(dataset)}/import`, body, {
        schema: importDatasetResponseSchema,
      });
      printer(cmd).result(
        result,
        () =>
          `${result.created ? 'Created' : 'Unchanged, existing'} version v${result.version.seq} ${result.version.id}\n` +
          describeVersion(dataset, result.version),
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
