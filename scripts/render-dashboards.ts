/*
 * `npm run dashboards:screenshot`: every dashboard of grafana/dashboards/*.json as an HTML page of uPlot charts fed by
 * a real Prometheus, and its screenshots from headless Chromium, so one can see what Grafana will show without it.
 *
 *   PROMETHEUS_URL   Prometheus to query                   (default http://127.0.0.1:9090)
 *   DASHBOARDS_DIR   folder of dashboard JSON files        (default grafana/dashboards)
 *   OUT_DIR          where pages and PNGs go (git-ignored) (default dashboards-out)
 *   RANGE            how far back from now, e.g. 30m, 6h   (default 1h)
 *   RATE_INTERVAL    what $__rate_interval stands for      (default 1m)
 *   CHROMIUM_PATH    the browser                           (default /usr/bin/chromium)
 *
 * The parts live in scripts/dashboards/.
 */
import { renderDashboards } from './dashboards/dashboard-screenshots';
import { parseDuration, PrometheusHttp } from './dashboards/prometheus-query';

async function main(env: NodeJS.ProcessEnv): Promise<number> {
  const prometheusUrl = env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
  if (!(await new PrometheusHttp(prometheusUrl).ready())) {
    throw new Error(
      `Prometheus at ${prometheusUrl} does not answer: start it (docker compose up -d prometheus) or set PROMETHEUS_URL.`,
    );
  }
  const { dashboards, failures } = await renderDashboards({
    prometheusUrl,
    dashboardsDir: env.DASHBOARDS_DIR ?? 'grafana/dashboards',
    outDir: env.OUT_DIR ?? 'dashboards-out',
    rangeSeconds: parseDuration(env.RANGE ?? '1h'),
    rateInterval: env.RATE_INTERVAL ?? '1m',
    chromiumPath: env.CHROMIUM_PATH || undefined,
  });
  const panels = dashboards.reduce((sum, dashboard) => sum + dashboard.panels.length, 0);
  console.log(
    `${dashboards.length} dashboard page(s) and ${panels} panel image(s) written` +
      `${failures.length ? `; ${failures.length} panel(s) with a failed query:\n  ${failures.join('\n  ')}` : '.'}`,
  );
  return failures.length ? 1 : 0;
}

main(process.env).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
