import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  alertRules,
  APPS,
  findBinary,
  INSTALL_HINT,
  prometheusConfig,
  readYamlFile,
  ROOT,
  ruleFiles,
} from './monitoring-files';

const promtool = findBinary('promtool');
const mustHaveTools = process.env.CI === 'true';
const withPromtool = promtool || mustHaveTools ? it : it.skip;
if (!promtool && !mustHaveTools) console.warn(`skipping the promtool checks: ${INSTALL_HINT}`);

function runPromtool(args: string[]): { status: number | null; output: string } {
  if (!promtool) throw new Error(INSTALL_HINT);
  const result = spawnSync(promtool, args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const EXPECTED_ALERTS = [
  'SepalGatewayErrorRatioHigh',
  'SepalGatewayLatencyP99High',
  'SepalNoModelLoaded',
  'SepalModelReloadFailures',
  'SepalTrainingRunsFailing',
  'SepalDeadLetterQueueGrowing',
  'SepalAppDown',
  'SepalFeatureDrift',
  'SepalShadowDisagreement',
  'SepalLiveQualityBelowTest',
  'SepalLiveErrorAboveTest',
];

describe('prometheus.yml', () => {
  withPromtool('passes promtool check config (which also checks the rule files it loads)', () => {
    const { status, output } = runPromtool(['check', 'config', 'prometheus.yml']);
    expect(output).toMatch(/SUCCESS: 1 rule files found/);
    expect(status).toBe(0);
  });

  it('scrapes every app by its compose service name and metrics port, at a sensible interval', () => {
    const config = prometheusConfig();
    for (const [app, port] of Object.entries(APPS)) {
      const job = config.scrape_configs.find((j) => j.job_name === app);
      expect(job).toBeDefined();
      expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
      const targets = [
        ...(job?.static_configs ?? []).flatMap((c) => c.targets),
        ...(job?.dns_sd_configs ?? []).flatMap((c) => c.names.map((name) => `${name}:${c.port}`)),
      ];
      expect(targets).toEqual([`${app}:${port}`]);
    }
    const interval = config.global?.scrape_interval ?? '1m';
    const seconds =
      Number(/^(\d+)s$/.exec(interval)?.[1] ?? /^(\d+)m$/.exec(interval)?.[1] ?? NaN) *
      (/m$/.test(interval) ? 60 : 1);
    expect(seconds).toBeGreaterThanOrEqual(5);
    expect(seconds).toBeLessThanOrEqual(60);
  });

  it('loads the alert rules from a file beside it, by a path relative to it', () => {
    const files = prometheusConfig().rule_files ?? [];
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file.startsWith('/')).toBe(false);
      expect(existsSync(join(ROOT, file))).toBe(true);
    }
  });

  it('is mounted in docker-compose so that the relative rule file paths resolve in the container', () => {
    const compose = readYamlFile<{ services: Record<string, { volumes?: string[]; command?: string[] }> }>(
      join(ROOT, 'docker-compose.yml'),
    );
    const prometheus = compose.services.prometheus;
    const configFlag = (prometheus.command ?? []).find((arg) => arg.startsWith('--config.file='));
    const containerConfig = configFlag?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    const containerDir = containerConfig.slice(0, containerConfig.lastIndexOf('/'));
    const mounts = (prometheus.volumes ?? []).map((v) => {
      const [source, target] = v.split(':');
      return { source: source.replace(/^\.\//, ''), target };
    });
    expect(mounts).toContainEqual({ source: 'prometheus.yml', target: containerConfig });
    for (const file of prometheusConfig().rule_files ?? []) {
      const expected = `${containerDir}/${file}`;
      const actual = mounts.flatMap((m) =>
        file === m.source
          ? [m.target]
          : file.startsWith(`${m.source}/`)
            ? [m.target + file.slice(m.source.length)]
            : [],
      );
      if (!actual.includes(expected)) {
        const folder = file.split('/')[0];
        throw new Error(
          `docker-compose.yml mounts ${file} at ${actual.join(', ') || 'nowhere'}, but Prometheus reads it at ${expected}: ` +
            `mount './${folder}:${containerDir}/${folder}:ro' in the prometheus service`,
        );
      }
    }
  });
});

describe('alert rules', () => {
  const rules = alertRules();

  withPromtool('pass promtool check rules', () => {
    const { status, output } = runPromtool(['check', 'rules', ...ruleFiles().map((f) => relative(ROOT, f))]);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status).toBe(0);
  });

  withPromtool('fire on their condition and stay quiet otherwise (promtool test rules)', () => {
    const { status, output } = runPromtool(['test', 'rules', 'test/monitoring/alerts.promtool.yml']);
    expect(output).toMatch(/SUCCESS/);
    expect(status).toBe(0);
  });

  it('cover the alerts the issue asks for', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...EXPECTED_ALERTS].sort());
  });

  it.each(EXPECTED_ALERTS)('%s has a for: duration, a severity, a summary and a description', (name) => {
    const rule = rules.find((r) => r.alert === name);
    expect(rule?.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(rule?.labels?.severity);
    expect(rule?.annotations?.summary?.length).toBeGreaterThan(10);
    expect(rule?.annotations?.description?.length).toBeGreaterThan(40);
  });

  it('every rule has a unique name', () => {
    const names = rules.map((r) => r.alert ?? r.record);
    expect(new Set(names).size).toBe(names.length);
  });
});
