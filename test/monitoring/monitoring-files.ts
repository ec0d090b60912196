import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '@sepal/testing/free-port';
import { Dashboard, readDashboards } from '../../scripts/dashboards/grafana-dashboard';
import { PrometheusHttp, PromSeries } from '../../scripts/dashboards/prometheus-query';

export const ROOT = join(__dirname, '../..');
export const PROMETHEUS_CONFIG = join(ROOT, 'prometheus.yml');
export const DASHBOARDS_DIR = join(ROOT, 'grafana/dashboards');
export const DATASOURCES_FILE = join(ROOT, 'grafana/provisioning/datasources/prometheus.yml');
export const DASHBOARD_PROVIDERS_FILE = join(ROOT, 'grafana/provisioning/dashboards/sepal.yml');

/** The apps, their compose service names (= Prometheus jobs) and metrics ports. */
export const APPS = { inference: 3000, data: 3001, registry: 3002, trainer: 3003 } as const;
export type AppName = keyof typeof APPS;

export interface PrometheusConfig {
  global?: { scrape_interval?: string; evaluation_interval?: string };
  rule_files?: string[];
  scrape_configs: {
    job_name: string;
    metrics_path?: string;
    static_configs?: { targets: string[] }[];
    dns_sd_configs?: { names: string[]; type?: string; port: number }[];
  }[];
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readYamlFile<T>(path: string): T {
  return parse(readFileSync(path, 'utf8'), { merge: true }) as T;
}

export function prometheusConfig(): PrometheusConfig {
  return readYamlFile<PrometheusConfig>(PROMETHEUS_CONFIG);
}

/** The rule files prometheus.yml loads, as absolute paths (resolved against prometheus.yml's folder). */
export function ruleFiles(): string[] {
  return (prometheusConfig().rule_files ?? []).map((file) => join(ROOT, file));
}

export function alertRules(): (AlertRule & { file: string; group: string })[] {
  return ruleFiles().flatMap((file) =>
    readYamlFile<{ groups: { name: string; rules: AlertRule[] }[] }>(file).groups.flatMap((group) =>
      group.rules.map((rule) => ({ ...rule, file, group: group.name })),
    ),
  );
}

export function dashboards(): { file: string; dashboard: Dashboard }[] {
  return readDashboards(DASHBOARDS_DIR);
}

export function provisionedDatasourceUid(): string {
  const file = readYamlFile<{ datasources: { uid: string; type: string }[] }>(DATASOURCES_FILE);
  const prometheus = file.datasources.filter((d) => d.type === 'prometheus');
  if (prometheus.length !== 1) throw new Error(`expected one Prometheus datasource in ${DATASOURCES_FILE}`);
  return prometheus[0].uid;
}

// ---------------------------------------------------------------- a real Prometheus

export function findBinary(name: string): string | null {
  for (const candidate of [`/usr/bin/${name}`, `/usr/local/bin/${name}`])
    if (existsSync(candidate)) return candidate;
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

export const INSTALL_HINT =
  'Prometheus is not installed: `apt-get update && apt-get install -y prometheus` (scripts/ensure-test-tools.sh does it in CI).';

export interface RunningPrometheus {
  url: string;
  client: PrometheusHttp;
  /** stderr so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `prometheus` on a free port with `config` (YAML text) and a throw-away TSDB; resolves once it is ready. */
export async function startPrometheus(binary: string, config: string): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'sepal-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, client: new PrometheusHttp(url), log: () => stderr, stop };
}

/** Runs `expr` and returns its series; throws (with Prometheus's message) if it does not parse or returns nothing. */
export async function expectData(client: PrometheusHttp, expr: string): Promise<PromSeries[]> {
  const { series } = await client.query(expr);
  if (series.length === 0) throw new Error(`no data for: ${expr}`);
  return series;
}
