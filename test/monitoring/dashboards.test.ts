import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import {
  allPanels,
  panelQueries,
  substituteGrafanaVariables,
} from '../../scripts/dashboards/grafana-dashboard';
import {
  alignOnGrid,
  formatLegend,
  formatValue,
  isolatedPoints,
  panelChart,
  timeGrid,
} from '../../scripts/dashboards/panel-data';
import { parseDuration } from '../../scripts/dashboards/prometheus-query';
import { dashboardHtml, gridRows } from '../../scripts/dashboards/render-page';
import {
  ChromiumMissingError,
  launchChromium,
  openDashboardPage,
  screenshotDashboard,
} from '../../scripts/dashboards/screenshot';
import {
  DASHBOARD_PROVIDERS_FILE,
  DASHBOARDS_DIR,
  dashboards,
  DATASOURCES_FILE,
  provisionedDatasourceUid,
  readYamlFile,
  ROOT,
} from './monitoring-files';

const files = dashboards();

describe('Grafana provisioning', () => {
  it('provisions one Prometheus datasource with a fixed uid, at the compose service', () => {
    const { datasources } = readYamlFile<{
      apiVersion: number;
      datasources: { name: string; uid: string; type: string; url: string; access: string }[];
    }>(DATASOURCES_FILE);
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', uid: 'sepal-prometheus', access: 'proxy' });
    expect(datasources[0].url).toBe('http://prometheus:9090');
  });

  it('provisions a file provider reading the folder docker-compose mounts the dashboards at', () => {
    const { providers } = readYamlFile<{ providers: { type: string; options: { path: string } }[] }>(
      DASHBOARD_PROVIDERS_FILE,
    );
    expect(providers).toHaveLength(1);
    expect(providers[0].type).toBe('file');
    const compose = readYamlFile<{
      services: { grafana: { volumes?: string[]; environment?: Record<string, string> } };
    }>(join(ROOT, 'docker-compose.yml'));
    const mount = (compose.services.grafana.volumes ?? []).find((v) => v.startsWith('./grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(providers[0].options.path);
    const home = compose.services.grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home) {
      expect(home.startsWith(`${providers[0].options.path}/`)).toBe(true);
      expect(existsSync(join(DASHBOARDS_DIR, home.slice(providers[0].options.path.length + 1)))).toBe(true);
    }
  });
});

describe.each(files.map(({ file, dashboard }) => [file, dashboard] as const))(
  'dashboard %s',
  (_file, dashboard) => {
    const uid = provisionedDatasourceUid();
    const panels = allPanels(dashboard);
    const queryPanels = panels.filter((p) => p.type !== 'row');

    it('has a uid, a title and panels', () => {
      expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(dashboard.title?.length).toBeGreaterThan(3);
      expect(queryPanels.length).toBeGreaterThan(0);
    });

    it('gives every panel (rows included) a unique id', () => {
      const ids = panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('references the provisioned datasource by its uid in every panel and every target', () => {
      for (const panel of queryPanels) {
        expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({ panel: panel.title, uid });
        for (const target of panel.targets ?? []) {
          if (target.datasource) expect(target.datasource.uid).toBe(uid);
        }
      }
    });

    it('gives every query panel a title a newcomer understands, a description and at least one target', () => {
      for (const panel of panels) expect(panel.title?.trim().length).toBeGreaterThan(5);
      for (const panel of queryPanels) {
        expect(panel.description?.length).toBeGreaterThan(20);
        expect(panel.targets?.length).toBeGreaterThan(0);
      }
    });

    it('has an expression in every target, with unique refIds per panel and only known Grafana variables', () => {
      for (const query of panelQueries(dashboard)) {
        expect({ panel: query.panelTitle, expr: query.expr.trim().length > 0 }).toEqual({
          panel: query.panelTitle,
          expr: true,
        });
        expect(() =>
          substituteGrafanaVariables(query.expr, { rateInterval: '1m', range: '1h' }),
        ).not.toThrow();
      }
      for (const panel of queryPanels) {
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    });

    it('lays panels out without overlaps on the 24-column grid', () => {
      const boxes = panels.map((p) => ({
        id: p.id,
        ...(p as { gridPos: { x: number; y: number; w: number; h: number } }).gridPos,
      }));
      for (const box of boxes) expect(box.x + box.w).toBeLessThanOrEqual(24);
      for (const a of boxes) {
        for (const b of boxes) {
          if (a.id === b.id) continue;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect({ a: a.id, b: b.id, overlap }).toEqual({ a: a.id, b: b.id, overlap: false });
        }
      }
    });
  },
);

describe('the overview dashboard', () => {
  const overview = files.find(({ file }) => file === 'sepal-overview.json')?.dashboard;
  const exprs = overview ? panelQueries(overview).map((q) => q.expr) : [];
  const uses = (pattern: RegExp) => exprs.some((expr) => pattern.test(expr));

  it.each([
    ['request rate by route and status', /sum by \(job, route, status\) \(rate\(http_requests_total/],
    ['the gateway error ratio', /status=~"5\.\."/],
    ['latency p50', /histogram_quantile\(0\.5, .*http_request_duration_seconds_bucket/],
    ['latency p95', /histogram_quantile\(0\.95, .*http_request_duration_seconds_bucket/],
    ['latency p99', /histogram_quantile\(0\.99, .*http_request_duration_seconds_bucket/],
    [
      'predictions per model, version and class',
      /sum by \(model, version, class\) \(rate\(sepal_predictions_total/,
    ],
    [
      'prediction requests per model and status class',
      /sum by \(model, code\) \(rate\(sepal_model_requests_total/,
    ],
    ['the error ratio per model', /sepal_model_requests_total\{job="inference", code="5xx"\}/],
    [
      'request latency p99 per model',
      /histogram_quantile\(0\.99, sum by \(model, le\) \(rate\(sepal_model_request_duration_seconds_bucket/,
    ],
    ['the traffic share of each version', /by \(model, version\) \(sepal_model_traffic_weight/],
    ['shadow agreement by model and version', /by \(model, version\) \(sepal_shadow_agreement_ratio/],
    ['the loaded model versions and their bytes', /sepal_loaded_model_bytes/],
    ['the model version served', /sepal_model_info/],
    ['reloads by result', /sum by \(result\) .*sepal_model_reloads_total/],
    ['training runs by status', /sum by \(status\) .*sepal_training_runs_total/],
    ['training run durations', /sepal_training_run_duration_seconds_bucket/],
    ['trials per sweep', /sepal_sweep_trials/],
    ['best validation accuracy per sweep', /sepal_sweep_best_val_accuracy/],
    ['dataset rows per version', /by \(dataset, version, split\) \(sepal_dataset_rows/],
    ['feedback received', /sepal_feedback_received_total/],
    ['feedback pending', /sepal_feedback_pending/],
    ['dead letters', /sepal_dead_letter_messages/],
    ['live quality per model version and metric', /by \(model, version, metric\) \(sepal_live_quality\{/],
    [
      "each version's test figure beside it",
      /by \(model, version, metric\) \(sepal_live_quality_test_figure/,
    ],
    ['the labelled rows live quality rests on', /by \(model, version\) \(sepal_live_labelled_rows/],
  ])('shows %s', (_what, pattern) => {
    expect(uses(pattern)).toBe(true);
  });
});

describe('dashboard helpers (scripts/dashboards/)', () => {
  it('substitutes the interval variables and refuses any other variable', () => {
    expect(
      substituteGrafanaVariables('rate(x[$__rate_interval]) + rate(y[${__interval}])', {
        rateInterval: '2m',
        range: '1h',
      }),
    ).toBe('rate(x[2m]) + rate(y[2m])');
    expect(substituteGrafanaVariables('increase(x[$__range])', { rateInterval: '1m', range: '3h' })).toBe(
      'increase(x[3h])',
    );
    expect(() => substituteGrafanaVariables('up{job="$job"}', { rateInterval: '1m', range: '1h' })).toThrow(
      /\$job/,
    );
  });

  it('formats legends and values like Grafana', () => {
    expect(formatLegend('{{model}} v{{version}}', { model: 'IrisModel', version: '3' })).toBe('IrisModel v3');
    expect(formatLegend('', { __name__: 'up', job: 'data' })).toBe('up{job="data"}');
    expect(formatValue(0.0123, 'percentunit')).toBe('1.23%');
    expect(formatValue(0.25, 's')).toBe('250 ms');
    expect(formatValue(1500, 'short')).toBe('1.50K');
    expect(parseDuration('30m')).toBe(1800);
    expect(() => parseDuration('soon')).toThrow();
  });

  it('places samples on the query grid, leaving gaps and NaN empty, and finds lone points', () => {
    const range = { start: 100, end: 160, step: 15 };
    expect(timeGrid(range)).toEqual([100, 115, 130, 145, 160]);
    const values = alignOnGrid(
      [
        [100, '1'],
        [115, '2'],
        [145, 'NaN'],
        [160, '+Inf'],
      ],
      range,
    );
    expect(values).toEqual([1, 2, null, null, null]);
    expect(isolatedPoints([null, 3, null, 4, 5, null, 6])).toEqual([1, 6]);
    expect(() => timeGrid({ start: 10, end: 0, step: 1 })).toThrow(/not a time range/);
  });

  it('turns a panel and its query results into named series, and says when a query failed or had no data', () => {
    const range = { start: 0, end: 120, step: 60 };
    const panel = {
      id: 4,
      title: 'Latency',
      fieldConfig: { defaults: { unit: 's' } },
      gridPos: { x: 12, y: 9, w: 12, h: 8 },
    };
    const chart = panelChart(
      panel,
      [
        {
          refId: 'A',
          legendFormat: 'p99 {{route}}',
          series: [
            {
              metric: { route: '/predict' },
              values: [
                [0, '0.5'],
                [60, '0.25'],
              ],
            },
          ],
        },
        { refId: 'B', legendFormat: '', error: 'bad_data: parse error' },
      ],
      range,
    );
    expect(chart.series).toEqual([
      {
        name: 'p99 /predict',
        values: [0.5, 0.25, null],
        legend: 'p99 /predict  (last 250 ms)',
        isolated: [],
      },
    ]);
    expect(chart.errors).toEqual(['B: bad_data: parse error']);
    expect(chart.note).toMatch(/^Query failed: B: bad_data/);
    expect(chart.gridPos).toEqual(panel.gridPos);
    expect(panelChart(panel, [{ refId: 'A', legendFormat: '', series: [] }], range).note).toBe('No data');
  });

  it('lays Grafana rows out as grid rows in order of y', () => {
    expect([...gridRows([9, 1, 0, 9, 17]).entries()]).toEqual([
      [0, 1],
      [1, 2],
      [9, 3],
      [17, 4],
    ]);
  });

  it('refuses to start without Chromium and says how to install it', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(ChromiumMissingError);
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(/apt-get install -y chromium/);
  });
});

describe('the dashboard page in headless Chromium (needs /usr/bin/chromium or CHROMIUM_PATH)', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await launchChromium();
    dir = process.env.MONITORING_RENDER_DIR ?? (await mkdtemp(join(tmpdir(), 'sepal-dashboard-page-')));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir && !process.env.MONITORING_RENDER_DIR) await rm(dir, { recursive: true, force: true });
  });

  it('draws each panel with uPlot: title, legend per series, the lines in the palette, notes on failures', async () => {
    const range = { start: 1_700_000_000, end: 1_700_000_600, step: 60 };
    const wave = (scale: number): [number, string][] =>
      timeGrid(range).map((t, i) => [t, String(scale * (1 + Math.sin(i / 2)))]);
    const chart = panelChart(
      {
        id: 7,
        title: 'Predictions per class (rows per second)',
        fieldConfig: { defaults: { unit: 'short' } },
        gridPos: { x: 0, y: 1, w: 12, h: 8 },
      },
      [
        {
          refId: 'A',
          legendFormat: '{{class}}',
          series: [
            { metric: { class: 'Iris-setosa' }, values: wave(2) },
            { metric: { class: 'Iris-virginica' }, values: wave(1).filter((_, i) => i !== 4) },
          ],
        },
      ],
      range,
    );
    const failed = panelChart(
      { id: 8, title: 'Broken panel', gridPos: { x: 12, y: 1, w: 12, h: 8 } },
      [{ refId: 'A', legendFormat: '', error: 'bad_data: 1:5: parse error' }],
      range,
    );
    const html = join(dir, 'page.html');
    await writeFile(
      html,
      dashboardHtml({
        title: 'Test dashboard',
        subtitle: 'fixed data',
        timestamps: timeGrid(range),
        rows: [{ title: 'Model serving', gridPos: { x: 0, y: 0, w: 24, h: 1 } }],
        charts: [chart, failed],
      }),
    );
    const shots = await screenshotDashboard(browser, html, join(dir, 'page.png'), (id) =>
      join(dir, `panel-${id}.png`),
    );
    expect(shots.panels.map((p) => p.panelId)).toEqual(['7', '8']);
    for (const file of [shots.page, ...shots.panels.map((p) => p.file)]) {
      expect(readFileSync(file).subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
    }

    const page = await openDashboardPage(browser, html);
    try {
      const drawn = await page.evaluate(() => {
        /* eslint-disable @typescript-eslint/no-explicit-any -- runs in the page, whose DOM types this project has not */
        const doc = (globalThis as any).document;
        return [...doc.querySelectorAll('section.panel')].map((panel: any) => {
          const canvas = panel.querySelector('canvas');
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let green = 0; // the first series' colour, #73bf69
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - 115) + Math.abs(data[i + 1] - 191) + Math.abs(data[i + 2] - 105) < 40)
              green++;
          return {
            title: panel.querySelector('h3').textContent,
            legend: [...panel.querySelectorAll('.u-legend .u-series th')].map((th: any) =>
              th.textContent.trim(),
            ),
            note: panel.querySelector('.note')?.textContent ?? null,
            green,
          };
        });
        /* eslint-enable @typescript-eslint/no-explicit-any */
      });
      expect(drawn).toEqual([
        {
          title: 'Predictions per class (rows per second)',
          legend: [
            `Iris-setosa  (last ${formatValue(2 * (1 + Math.sin(5)), 'short')})`,
            `Iris-virginica  (last ${formatValue(1 + Math.sin(5), 'short')})`,
          ],
          note: null,
          green: expect.any(Number),
        },
        {
          title: 'Broken panel',
          legend: [],
          note: 'Query failed: A: bad_data: 1:5: parse error',
          green: 0,
        },
      ]);
      expect(drawn[0].green).toBeGreaterThan(50);
      const row = await page.$eval('section.row h2', (h2) => h2.textContent);
      expect(row).toBe('Model serving');
    } finally {
      await page.close();
    }
  }, 60_000);
});
