/*
 * Every dashboard of a folder, its panels' queries run against a real Prometheus, written as an HTML page
 * (./render-page.ts) and screenshotted in headless Chromium (./screenshot.ts): the page, and each panel on its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Dashboard, queryPanels, readDashboards, substituteGrafanaVariables } from './grafana-dashboard';
import { type PanelChart, panelChart, type TargetResult, type TimeRange, timeGrid } from './panel-data';
import { PrometheusHttp, PrometheusUnreachableError } from './prometheus-query';
import { dashboardHtml } from './render-page';
import { launchChromium, screenshotDashboard } from './screenshot';

export interface RenderOptions {
  prometheusUrl: string;
  dashboardsDir: string;
  outDir: string;
  /** How far back from `now` the charts go. */
  rangeSeconds: number;
  /** What `$__rate_interval` stands for, e.g. '1m'. */
  rateInterval: string;
  /** The end of the window (unix seconds); default now. */
  now?: number;
  /** The Chromium binary; default CHROMIUM_PATH or /usr/bin/chromium. */
  chromiumPath?: string;
  log?: (line: string) => void;
}

export interface RenderedPanel {
  panelId: number | undefined;
  title: string;
  /** The panel's own screenshot. */
  file: string;
  series: number;
  /** Why a query of the panel failed (the panel still shows, with the error over it). */
  failure?: string;
}

export interface RenderedDashboard {
  file: string;
  title: string;
  html: string;
  /** The whole page. */
  screenshot: string;
  panels: RenderedPanel[];
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'panel'
  );
}

/** Runs each target of every query panel over `range`; a refused query becomes the panel's error, not a throw. */
async function chartsOf(
  dashboard: Dashboard,
  prometheus: PrometheusHttp,
  range: TimeRange,
  variables: { rateInterval: string; range: string },
): Promise<PanelChart[]> {
  const charts: PanelChart[] = [];
  for (const panel of queryPanels(dashboard)) {
    const results: TargetResult[] = [];
    for (const target of panel.targets ?? []) {
      const result: TargetResult = { refId: target.refId ?? '', legendFormat: target.legendFormat ?? '' };
      try {
        const expr = substituteGrafanaVariables(target.expr ?? '', variables);
        result.series = await prometheus.queryRange(expr, range.start, range.end, range.step);
      } catch (error) {
        if (error instanceof PrometheusUnreachableError) throw error;
        result.error = (error as Error).message;
      }
      results.push(result);
    }
    charts.push(panelChart(panel, results, range));
  }
  return charts;
}

/** Renders every dashboard of `dashboardsDir` into `outDir`; panels whose query failed are listed in `failures`. */
export async function renderDashboards(
  options: RenderOptions,
): Promise<{ dashboards: RenderedDashboard[]; failures: string[] }> {
  const prometheus = new PrometheusHttp(options.prometheusUrl);
  const end = options.now ?? Math.floor(Date.now() / 1000);
  // About 300 points per line, like Grafana on a wide panel.
  const step = Math.max(1, Math.round(options.rangeSeconds / 300));
  const range: TimeRange = { start: end - options.rangeSeconds, end, step };
  const variables = { rateInterval: options.rateInterval, range: `${options.rangeSeconds}s` };
  const log = options.log ?? ((line: string) => console.log(line));
  const utc = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const window = `${utc(range.start)} to ${utc(end)} UTC`;

  const browser = await launchChromium(options.chromiumPath);
  try {
    const rendered: RenderedDashboard[] = [];
    const failures: string[] = [];
    for (const { file, dashboard } of readDashboards(options.dashboardsDir)) {
      const name = file.replace(/\.json$/, '');
      const folder = join(options.outDir, name);
      mkdirSync(folder, { recursive: true });
      const charts = await chartsOf(dashboard, prometheus, range, variables);
      const title = dashboard.title ?? name;
      const html = join(folder, 'index.html');
      writeFileSync(
        html,
        dashboardHtml({
          title,
          subtitle: `Prometheus ${prometheus.baseUrl}, ${window}, one point every ${step} s`,
          timestamps: timeGrid(range),
          rows: (dashboard.panels ?? [])
            .filter((panel) => panel.type === 'row')
            .map((row) => ({ title: row.title ?? '', gridPos: row.gridPos ?? { x: 0, y: 0, w: 24, h: 1 } })),
          charts,
        }),
      );
      const chartById = new Map(charts.map((chart) => [String(chart.id), chart]));
      const shots = await screenshotDashboard(browser, html, join(options.outDir, `${name}.png`), (panelId) =>
        join(folder, `${panelId.padStart(2, '0')}-${slug(chartById.get(panelId)?.title ?? '')}.png`),
      );
      const panels = shots.panels.map(({ panelId, file: png }): RenderedPanel => {
        const chart = chartById.get(panelId);
        const failure = chart?.errors.length ? chart.errors.join('; ') : undefined;
        return {
          panelId: chart?.id,
          title: chart?.title ?? '',
          file: png,
          series: chart?.series.length ?? 0,
          failure,
        };
      });
      for (const panel of panels) {
        if (panel.failure) failures.push(`${file} panel ${panel.panelId} "${panel.title}": ${panel.failure}`);
        log(`${panel.file}  ${panel.series} series${panel.failure ? `  FAILED: ${panel.failure}` : ''}`);
      }
      log(`${shots.page}  (${html})`);
      rendered.push({ file, title, html, screenshot: shots.page, panels });
    }
    return { dashboards: rendered, failures };
  } finally {
    await browser.close();
  }
}
