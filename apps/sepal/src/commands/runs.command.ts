import { Command } from 'commander';
import type { RunPage, RunView } from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { pairs } from '../output/format';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

const short = (id: string | null) => (id ? id.slice(0, 8) : '-');

function describeRun(run: RunView): string {
  return [
    `run ${run.id}${run.name ? ` (${run.name})` : ''}`,
    `experiment: ${run.experiment}    status: ${run.status}`,
    `started:    ${run.startTime}    ended: ${run.endTime ?? '-'}`,
    `parent:     ${run.parentRunId ?? '(none)'}    children: ${run.childrenCount}`,
    `dataset:    ${run.dataset ?? '-'} ${run.datasetVersion ? run.datasetVersion.slice(0, 12) : ''}`.trimEnd(),
    `backend:    ${run.backend ?? '-'}    correlation: ${run.correlationId ?? '-'}`,
    `params:     ${pairs(run.params) || '-'}`,
    `metrics:    ${pairs(run.metrics) || '-'}`,
    `tags:       ${pairs(run.tags) || '-'}`,
    ...(run.error ? [`error:      ${run.error}`] : []),
    ...importanceLines(run),
  ].join('\n');
}

/** A tree model's feature importance (share of the split gain), largest first, as a bar chart. */
export function importanceLines(run: Pick<RunView, 'featureImportance'>): string[] {
  const importance = run.featureImportance ?? [];
  if (importance.length === 0) return [];
  const width = Math.max(...importance.map(({ feature }) => feature.length));
  return [
    'feature importance (gain):',
    ...importance.map(({ feature, gain }) =>
      `  ${feature.padEnd(width)}  ${gain.toFixed(3)}  ${'#'.repeat(Math.round(gain * 40))}`.trimEnd(),
    ),
  ];
}

export function runsCommand(context: CliContext): Command {
  const runs = new Command('runs').description('Search and inspect training runs (the registry).');
  const client = () => serviceClient(context, 'registry');
  const printer = (cmd: Command) => new Printer(Boolean(cmd.optsWithGlobals().json));

  runs
    .command('ls')
    .description(
      'List runs, newest first, or matching a filter, e.g. --filter "metrics.accuracy > 0.9 AND params.lr = \'0.01\'"',
    )
    .option('-e, --experiment <name>', 'only runs of this experiment')
    .option(
      '-f, --filter <expression>',
      'filter in the search language (metrics., params., tags., attributes)',
    )
    .option('-o, --order-by <terms>', 'e.g. "metrics.f1 DESC"')
    .option('-p, --parent <runId>', 'only the child runs of this sweep')
    .option('-n, --limit <n>', 'page size', '50')
    .option('--page-token <token>', 'the next page of an earlier listing')
    .action(
      async (
        options: {
          experiment?: string;
          filter?: string;
          orderBy?: string;
          parent?: string;
          limit: string;
          pageToken?: string;
        },
        cmd: Command,
      ) => {
        const query = new URLSearchParams({ limit: options.limit });
        if (options.experiment) query.set('experiment', options.experiment);
        if (options.filter) query.set('filter', options.filter);
        if (options.orderBy) query.set('orderBy', options.orderBy);
        if (options.parent) query.set('parentRunId', options.parent);
        if (options.pageToken) query.set('pageToken', options.pageToken);
        const page = await client().get<RunPage>(`/runs?${query}`);
        const out = printer(cmd);
        out.table(
          page.runs,
          ['RUN', 'NAME', 'EXPERIMENT', 'STATUS', 'PARENT', 'STARTED', 'METRICS'],
          page.runs.map((r) => [
            short(r.id),
            r.name ?? '',
            r.experiment,
            r.status,
            short(r.parentRunId),
            r.startTime,
            pairs(r.metrics),
          ]),
        );
        if (page.nextPageToken) out.note(`more: --page-token ${page.nextPageToken}`);
      },
    );

  runs
    .command('show')
    .description(
      'Show one run: status, timings, params, latest metrics, tags, dataset version, parent sweep, and a tree ' +
        "model's feature importance.",
    )
    .argument('<runId>')
    .action(async (runId: string, _options: unknown, cmd: Command) => {
      const run = await client().get<RunView>(`/runs/${encodeURIComponent(runId)}`);
      printer(cmd).result(run, () => describeRun(run));
    });

  return runs;
}
