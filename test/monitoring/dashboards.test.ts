import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import {
  allPanels,
  panelQueries,
  substituteGrafanaVariables,
} from '../../scripts/dashboards/grafana-dashboard';
import { parseDuration } from '../../scripts/dashboards/prometheus-query';
import { formatLegend, formatValue, renderChart } from '../../scripts/render-dashboards';
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
    ['predictions per class', /sum by \(class\) \(rate\(sepal_predictions_total/],
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
  ])('shows %s', (_what, pattern) => {
    expect(uses(pattern)).toBe(true);
  });
});

describe('dashboard helpers (scripts/render-dashboards.ts)', () => {
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

  it('renders a chart as a valid PNG (signature, IHDR, CRCs, inflatable pixel data)', () => {
    const png = renderChart({
      title: 'Predictions per class',
      unit: 'short',
      start: 0,
      end: 600,
      gapSeconds: 60,
      series: [
        {
          name: 'Iris-setosa',
          points: [
            [0, 1],
            [60, 2],
            [120, 3],
          ],
        },
        {
          name: 'Iris-virginica',
          points: [
            [0, 3],
            [60, Number.NaN],
            [120, 1],
          ],
        },
      ],
    });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const chunks: { type: string; data: Buffer }[] = [];
    for (let offset = 8; offset < png.length;) {
      const length = png.readUInt32BE(offset);
      const type = png.toString('ascii', offset + 4, offset + 8);
      chunks.push({ type, data: png.subarray(offset + 8, offset + 8 + length) });
      offset += 12 + length;
    }
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const width = chunks[0].data.readUInt32BE(0);
    const height = chunks[0].data.readUInt32BE(4);
    const pixels = inflateSync(chunks[1].data);
    expect(pixels.length).toBe((width * 3 + 1) * height);
    // Some pixels carry the first series' colour: the line was drawn.
    let green = 0;
    for (let i = 0; i + 2 < pixels.length; i++)
      if (pixels[i] === 115 && pixels[i + 1] === 191 && pixels[i + 2] === 105) green++;
    expect(green).toBeGreaterThan(50);
  });
});
