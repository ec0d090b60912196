import { Command } from 'commander';
import type {
  AliasAuditEntry,
  AliasMoveView,
  LineageView,
  ModelGateView,
  ModelPage,
  ModelVersionView,
  ModelView,
  TrafficSplit,
} from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

const metricsText = (metrics: Record<string, number>) =>
  Object.entries(metrics)
    .map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(4)}`)
    .join(' ');
const aliasText = (aliases: Record<string, number>) =>
  Object.entries(aliases)
    .map(([alias, version]) => `${alias}=v${version}`)
    .join(' ');

export function modelsCommand(context: CliContext): Command {
  const models = new Command('models').description('Registered models, versions, aliases and promotion.');
  const client = () => serviceClient(context, 'registry');
  const printer = (cmd: Command) => new Printer(Boolean(cmd.optsWithGlobals().json));
  const path = (name: string) => `/models/${encodeURIComponent(name)}`;

  models
    .command('ls')
    .description('List registered models with their latest version and aliases.')
    .option('-n, --limit <n>', 'page size', '100')
    .action(async (options: { limit: string }, cmd: Command) => {
      const page = await client().get<ModelPage>(`/models?limit=${encodeURIComponent(options.limit)}`);
      printer(cmd).table(
        page.models,
        ['MODEL', 'LATEST', 'ALIASES', 'DESCRIPTION'],
        page.models.map((m) => [
          m.name,
          m.latestVersion ? `v${m.latestVersion}` : '-',
          aliasText(m.aliases),
          m.description ?? '',
        ]),
      );
    });

  models
    .command('show')
    .description('Show a model (its versions and aliases), or one version with its lineage.')
    .argument('<name>')
    .argument('[version]', 'a version number, or an alias such as champion')
    .option('-a, --audit', 'also print the audit log of alias moves')
    .action(async (name: string, version: string | undefined, options: { audit?: boolean }, cmd: Command) => {
      const out = printer(cmd);
      if (version) {
        const number = /^\d+$/.test(version)
          ? Number(version)
          : (await client().get<ModelVersionView>(`${path(name)}/aliases/${encodeURIComponent(version)}`))
              .version;
        const lineage = await client().get<LineageView>(`${path(name)}/versions/${number}/lineage`);
        const details = await client().get<ModelVersionView>(`${path(name)}/versions/${number}`);
        out.result({ ...details, lineage }, () =>
          [
            `${name} v${details.version}    created ${details.createdAt}`,
            `artifact: ${details.sha256} (${details.size ?? '?'} bytes)  ${details.artifactUrl}`,
            `metrics:  ${metricsText(details.metrics) || '-'}`,
            `run:      ${lineage.run ? `${lineage.run.id} (${lineage.run.status})` : '-'}`,
            `sweep:    ${lineage.parentRun ? lineage.parentRun.id : '-'}`,
            `dataset:  ${lineage.dataset ?? '-'} ${lineage.datasetVersion ?? ''}`.trimEnd(),
          ].join('\n'),
        );
        return;
      }
      const model = await client().get<ModelView>(path(name));
      const audit = options.audit ? await client().get<AliasAuditEntry[]>(`${path(name)}/audit`) : undefined;
      out.result(audit ? { ...model, audit } : model, () => {
        const byVersion = new Map<number, string[]>();
        for (const [alias, v] of Object.entries(model.aliases))
          byVersion.set(v, [...(byVersion.get(v) ?? []), alias]);
        const lines = [
          `${model.name}${model.description ? ` — ${model.description}` : ''}`,
          `aliases: ${aliasText(model.aliases) || '(none)'}`,
          '',
          ...model.versions.map(
            (v) =>
              `  v${String(v.version).padEnd(4)} ${v.sha256.slice(0, 12)}  ${v.createdAt}  ${metricsText(v.metrics)}` +
              (byVersion.has(v.version) ? `  [${byVersion.get(v.version)!.join(', ')}]` : ''),
          ),
        ];
        if (audit) {
          lines.push('', 'alias moves:');
          for (const a of audit) {
            lines.push(
              `  ${a.at}  ${a.alias}: ${a.fromVersion ? `v${a.fromVersion}` : '-'} -> v${a.toVersion}  by ${a.by}${a.reason ? `: ${a.reason}` : ''}`,
            );
          }
        }
        return lines.join('\n');
      });
    });

  models
    .command('promote')
    .description('Point an alias (default champion) at a version; moving champion announces model.promoted.')
    .argument('<name>')
    .argument('<version>', 'version number')
    .option('-a, --alias <alias>', 'alias to move', 'champion')
    .option('-r, --reason <text>', 'why (kept in the audit log)')
    .action(
      async (name: string, version: string, options: { alias: string; reason?: string }, cmd: Command) => {
        if (!/^\d+$/.test(version) || Number(version) < 1) {
          throw new Error(`version must be a positive whole number, not '${version}'`);
        }
        const move = await client().put<AliasMoveView>(
          `${path(name)}/aliases/${encodeURIComponent(options.alias)}`,
          {
            version: Number(version),
            reason: options.reason,
          },
        );
        printer(cmd).result(
          move,
          () =>
            `${name}: ${move.alias} ${move.previousVersion ? `v${move.previousVersion}` : '(unset)'} -> v${move.version}`,
        );
      },
    );

  models
    .command('gate')
    .description(
      "Show a model's promotion gate, or set it: the metric that decides (e.g. test_accuracy up, test_rmse down), " +
        'its floor (a ceiling for down) and the margin over the champion. Unset: the defaults for the task.',
    )
    .argument('<name>')
    .option('--metric <metric>', 'a parent-run metric, e.g. test_accuracy, test_macro_f1, test_rmse, test_r2')
    .option('--direction <direction>', "'up' (higher is better) or 'down' (lower is better)")
    .option('--floor <value>', "the worst acceptable value, or 'none'", 'none')
    .option(
      '--margin <value>',
      'how much better than the champion (0: strictly better; negative: tolerate)',
      '0',
    )
    .option('-r, --reason <text>', 'why (kept in the audit log)')
    .option('--by <who>', 'who (kept in the audit log)', process.env.USER ?? 'cli')
    .action(
      async (
        name: string,
        options: {
          metric?: string;
          direction?: string;
          floor: string;
          margin: string;
          reason?: string;
          by: string;
        },
        cmd: Command,
      ) => {
        const show = (view: ModelGateView) =>
          view.gate
            ? `${name}: ${view.gate.metric} ${view.gate.direction}, ${view.gate.direction === 'up' ? 'floor' : 'ceiling'} ` +
              `${view.gate.floor ?? 'none'}, margin ${view.gate.margin} (set by ${view.updatedBy} at ${view.updatedAt})`
            : `${name}: no gate of its own (the trainer's defaults: test_accuracy up for a classifier, test_rmse down for a regressor)`;
        if (options.metric === undefined && options.direction === undefined) {
          const view = await client().get<ModelGateView>(`${path(name)}/gate`);
          printer(cmd).result(view, () => show(view));
          return;
        }
        if (options.metric === undefined || options.direction === undefined) {
          throw new Error('setting a gate needs both --metric and --direction (up or down)');
        }
        const number = (flag: string, value: string) => {
          const parsed = Number(value);
          if (value.trim() === '' || !Number.isFinite(parsed))
            throw new Error(`${flag} must be a number, not '${value}'`);
          return parsed;
        };
        const view = await client().put<ModelGateView>(`${path(name)}/gate`, {
          metric: options.metric,
          direction: options.direction,
          floor: options.floor === 'none' ? null : number('--floor', options.floor),
          margin: number('--margin', options.margin),
          reason: options.reason,
          by: options.by,
        });
        printer(cmd).result(view, () => show(view));
      },
    );

  models
    .command('traffic')
    .description(
      "Show a model's traffic split, or set one: weights by version summing to 100 (canary) and a shadow version.",
    )
    .argument('<name>')
    .argument('[weights...]', 'version=weight pairs, e.g. 3=90 4=10 (omit to show the split in force)')
    .option('-s, --shadow <version>', 'a version scoring the same rows off the response path')
    .option('-r, --reason <text>', 'why (kept in the audit log, with the name of the key used)')
    .action(
      async (name: string, pairs: string[], options: { shadow?: string; reason?: string }, cmd: Command) => {
        let split: TrafficSplit;
        if (pairs.length === 0 && options.shadow === undefined) {
          split = await client().get<TrafficSplit>(`${path(name)}/traffic`);
        } else {
          const weights: Record<string, number> = {};
          for (const pair of pairs) {
            const match = /^(\d+)=(\d+)$/.exec(pair);
            if (!match) throw new Error(`expected version=weight (e.g. 3=90), not '${pair}'`);
            weights[String(Number(match[1]))] = Number(match[2]);
          }
          if (options.shadow !== undefined && !/^\d+$/.test(options.shadow)) {
            throw new Error(`--shadow must be a version number, not '${options.shadow}'`);
          }
          split = await client().put<TrafficSplit>(`${path(name)}/traffic`, {
            weights,
            shadow: options.shadow === undefined ? null : Number(options.shadow),
            reason: options.reason,
          });
        }
        printer(cmd).result(
          split,
          () =>
            `${name}: ${split.weights.map((w) => `v${w.version} ${w.weight}%`).join(', ')}` +
            `${split.shadow ? `; shadow v${split.shadow.version}` : ''}  (by ${split.changedBy} at ${split.changedAt}${split.reason ? `: ${split.reason}` : ''})`,
        );
      },
    );

  return models;
}
