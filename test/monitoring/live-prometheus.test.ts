/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * A real Prometheus scrapes the real apps (embedded mode, one process, each app on its own port), the test drives
 * predictions, feedback and a training job, then runs every PromQL expression of the dashboards and the alert rules
 * through Prometheus's HTTP API: each must parse, and each dashboard query must return data.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { exportDenseClassifierToOnnx, fitPsiReference } from '@sepal/ml';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { freePort, separateAppsEnv, uniqueNamespace, waitFor } from '@sepal/testing';
import { renderDashboards } from '../../scripts/dashboards/dashboard-screenshots';
import {
  panelQueries,
  queryPanels,
  substituteGrafanaVariables,
} from '../../scripts/dashboards/grafana-dashboard';
import {
  PrometheusHttp,
  PrometheusUnreachableError,
  PromQueryError,
} from '../../scripts/dashboards/prometheus-query';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';
import {
  alertRules,
  AppName,
  dashboards,
  expectData,
  findBinary,
  INSTALL_HINT,
  DASHBOARDS_DIR,
  ROOT,
  RunningPrometheus,
  startPrometheus,
} from './monitoring-files';

/** Every app, started in this order (the gateway loads its champion from the registry, the trainer reads data). */
const APPS: { name: AppName; start: (env: NodeJS.ProcessEnv) => Promise<NestFastifyApplication> }[] = [
  { name: 'data', start: (env) => startDataApp(DataConfig.load(env)) },
  { name: 'registry', start: (env) => startRegistryApp(RegistryConfig.load(env)) },
  { name: 'inference', start: (env) => startInferenceApp(InferenceConfig.load(env)) },
  { name: 'trainer', start: (env) => startTrainerApp(TrainerConfig.load(env)) },
];
const APP_NAMES = APPS.map((app) => app.name);

const prometheusBinary = findBinary('prometheus');
if (!prometheusBinary && process.env.CI !== 'true') {
  console.warn(`skipping the live Prometheus test: ${INSTALL_HINT}`);
}
const describeLive = prometheusBinary || process.env.CI === 'true' ? describe : describe.skip;

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const IRIS_LABELS = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
/** Values Grafana would give its interval variables for a short window of 1 s scrapes. */
const VARIABLES = { rateInterval: '1m', range: '1h' };

/** Rows the test scores; the model's drift reference is fitted on them, so the served rows look like training data. */
const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [5.7, 2.8, 4.1, 1.3],
  [7.2, 3.2, 6.0, 1.8],
];

/**
 * A one-layer classifier on petal length, as the trainer would export it (with its drift reference); `shift` moves
 * its decision boundaries (another version).
 */
function irisOnnx(shift = 0): Uint8Array {
  return exportDenseClassifierToOnnx(
    {
      featureNames: IRIS_FEATURES,
      labels: IRIS_LABELS,
      standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
      layers: [
        {
          kernel: new Float32Array([0, 0, 0, 0, 0, 0, -3, 0, 3, -1, 0, 1]),
          bias: new Float32Array([shift, 1, -shift]),
          inputs: 4,
          units: 3,
          activation: 'softmax',
        },
      ],
    },
    {
      model_name: 'IrisModel',
      label_map: JSON.stringify(IRIS_LABELS),
      feature_names: JSON.stringify(IRIS_FEATURES),
      feature_reference: JSON.stringify(
        IRIS_FEATURES.map((_, j) =>
          fitPsiReference(
            IRIS_ROWS.map((row) => row[j]),
            10,
          ),
        ),
      ),
    },
  );
}

const dashboardQueries = dashboards().flatMap(({ dashboard }) => panelQueries(dashboard));
const rules = alertRules();

describeLive('dashboards and alert rules against a real Prometheus scraping the apps', () => {
  const apps = new Map<AppName, NestFastifyApplication>();
  const urls = new Map<AppName, string>();
  const stops: (() => void)[] = [];
  let prometheus: RunningPrometheus | undefined;
  let modelsDir = '';

  const call = async (
    app: AppName,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${urls.get(app)}${path}`, {
      method,
      headers:
        body instanceof Uint8Array
          ? { 'x-sepal-client': '1', ...headers }
          : { 'content-type': 'application/json', 'x-sepal-client': '1', ...headers },
      body:
        body === undefined
          ? undefined
          : body instanceof Uint8Array
            ? Buffer.from(body)
            : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: () => JSON.parse(text) as Record<string, unknown>, text };
  };
  const expectOk = async (promise: ReturnType<typeof call>, what: string) => {
    const response = await promise;
    if (response.status >= 300) throw new Error(`${what}: HTTP ${response.status} ${response.text}`);
    return response.json();
  };

  beforeAll(async () => {
    if (!prometheusBinary) throw new Error(INSTALL_HINT);
    const namespace = uniqueNamespace('monitoring');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-monitoring-models-'));
    const ports = Object.fromEntries(
      await Promise.all(APP_NAMES.map(async (name) => [name, await freePort()] as const)),
    );
    for (const name of APP_NAMES) urls.set(name, `http://127.0.0.1:${ports[name]}`);
    const env: NodeJS.ProcessEnv = {
      ...separateAppsEnv({
        namespace,
        ports,
        dataDir: join(ROOT, 'data'),
        modelsDir,
        modelName: 'IrisModel',
        logLevel: process.env.MONITORING_LOG_LEVEL ?? 'error',
      }),
      // sepal_feature_drift_psi appears once the window holds this many rows (the traffic below sends 33).
      DRIFT_MIN_ROWS: '20',
      // Every prediction logged and live quality recomputed often: the live quality panels have data within seconds.
      PREDICTION_LOG_SAMPLE: '1',
      PREDICTION_LOG_FLUSH_MS: '100',
      PREDICTION_QUALITY_INTERVAL_MS: '500',
    };
    for (const { name, start } of APPS) apps.set(name, await start(env));

    const jobs = APP_NAMES.map(
      (name) => `  - job_name: ${name}
    static_configs:
      - targets: ['127.0.0.1:${ports[name]}']`,
    ).join('\n');
    prometheus = await startPrometheus(
      prometheusBinary,
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
${rules
  .map((r) => r.file)
  .filter((f, i, all) => all.indexOf(f) === i)
  .map((f) => `  - ${JSON.stringify(f)}`)
  .join('\n')}
scrape_configs:
${jobs}
`,
    );

    // Drive the platform: a dataset and feedback, a served model and predictions, a training job.
    await expectOk(call('data', 'POST', '/datasets/iris/import', {}), 'importing iris');
    for (const [features, label] of [
      [[5.0, 3.4, 1.5, 0.2], 'Iris-setosa'],
      [[6.1, 2.9, 4.7, 1.4], 'Iris-versicolor'],
    ] as const) {
      await expectOk(
        call('data', 'POST', '/datasets/iris/feedback', { features, label }),
        'sending feedback',
      );
    }
    const bytes = irisOnnx();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await expectOk(
      call('registry', 'POST', '/artifacts', bytes, {
        'content-type': 'application/octet-stream',
        'x-content-sha256': sha256,
      }),
      'uploading the model',
    );
    const run = await expectOk(
      call('registry', 'POST', '/runs', { experiment: 'monitoring', dataset: 'iris' }),
      'creating a run',
    );
    const version = await expectOk(
      // Test figures, which the prediction log carries beside live quality (sepal_live_quality_test_figure).
      call('registry', 'POST', '/models/IrisModel/versions', {
        runId: run.id,
        sha256,
        metrics: { test_accuracy: 0.9, test_macro_f1: 0.9 },
      }),
      'registering the model',
    );
    await expectOk(
      call('registry', 'PUT', '/models/IrisModel/aliases/champion', {
        version: version.version,
        reason: 'monitoring test',
      }),
      'promoting the model',
    );
    await waitFor(async () => (await call('inference', 'GET', '/model')).json().served === true, {
      timeoutMs: 15_000,
      description: 'the gateway to serve the champion',
    });
    // A second version scores the same rows as a shadow (the dashboard's shadow agreement panel).
    const shadowBytes = irisOnnx(2);
    const shadowSha = createHash('sha256').update(shadowBytes).digest('hex');
    await expectOk(
      call('registry', 'POST', '/artifacts', shadowBytes, {
        'content-type': 'application/octet-stream',
        'x-content-sha256': shadowSha,
      }),
      'uploading the shadow version',
    );
    const shadow = await expectOk(
      call('registry', 'POST', '/models/IrisModel/versions', { runId: run.id, sha256: shadowSha }),
      'registering the shadow version',
    );
    await expectOk(
      call('registry', 'PUT', '/models/IrisModel/traffic', {
        weights: { [String(version.version)]: 100 },
        shadow: shadow.version,
        reason: 'monitoring test',
      }),
      'setting a shadow version',
    );
    await waitFor(
      async () =>
        (JSON.parse((await call('inference', 'GET', '/models')).text) as { shadow: number | null }[]).some(
          (model) => model.shadow !== null,
        ),
      { timeoutMs: 15_000, description: 'the gateway to load the shadow version' },
    );
    const rows = IRIS_ROWS;
    const predictionIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const answer = await expectOk(
        call('inference', 'POST', '/predict', { features: rows[i % 3] }),
        'predicting',
      );
      predictionIds.push((answer.predictions as { predictionId: string }[])[0].predictionId);
    }
    // Labels for three logged predictions, by prediction id (live quality; also three more feedback samples).
    for (let i = 0; i < 3; i++) {
      await expectOk(
        call('data', 'POST', '/datasets/iris/feedback', {
          features: rows[i],
          label: IRIS_LABELS[i],
          predictionId: predictionIds[i],
        }),
        'labelling a logged prediction',
      );
    }
    await expectOk(call('inference', 'POST', '/predict', { instances: rows }), 'predicting a batch');
    expect((await call('inference', 'POST', '/predict', { features: [1, 2] })).status).toBeGreaterThanOrEqual(
      400,
    );
    await expectOk(
      call('trainer', 'POST', '/train', {
        dataset: 'iris',
        grid: { hiddenUnits: [4, 8] },
        params: { epochs: 5 },
      }),
      'requesting a training job',
    );

    // Wait until Prometheus holds what every dashboard query needs (the counters appear at the first scrape after
    // the traffic; rate() needs two samples; the training job takes a few seconds).
    const client = prometheus.client;
    const needed = dashboardQueries.map((q) => substituteGrafanaVariables(q.expr, VARIABLES));
    let lacking: string[] = needed;
    await waitFor(
      async () => {
        const answers = await Promise.all(
          needed.map(async (expr) => ((await client.query(expr)).series.length > 0 ? null : expr)),
        );
        lacking = answers.filter((expr): expr is string => expr !== null);
        return lacking.length === 0;
      },
      { timeoutMs: 25_000, intervalMs: 500, description: 'every dashboard query to have data' },
    ).catch((error: Error) => {
      // The individual tests below say which; this only keeps the wait bounded.
      console.warn(`${error.message}; still without data:\n  ${lacking.join('\n  ')}`);
    });
    // One more rule evaluation round after the data is there: every rule evaluated since this moment.
    const dataThereAt = Date.now();
    await waitFor(
      async () => {
        const response = await fetch(`${prometheus!.url}/api/v1/rules`);
        const body = (await response.json()) as {
          data: { groups: { rules: { lastEvaluation?: string }[] }[] };
        };
        const loaded = body.data.groups.flatMap((g) => g.rules);
        return loaded.length > 0 && loaded.every((r) => Date.parse(r.lastEvaluation ?? '') > dataThereAt);
      },
      { timeoutMs: 15_000, intervalMs: 250, description: 'a rule evaluation round after the data' },
    ).catch((error: Error) => console.warn(error.message)); // the rule test below says which
  }, 90_000);

  afterAll(async () => {
    for (const stop of stops) stop();
    await prometheus?.stop();
    for (const app of [...apps.values()].reverse()) await (app as INestApplication).close();
    await closeEmbeddedDatabases();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  }, 30_000);

  it('scrapes every app', async () => {
    const series = await expectData(prometheus!.client, 'up');
    const up = Object.fromEntries(series.map((s) => [s.metric.job, s.values[0][1]]));
    expect(up).toEqual(Object.fromEntries(APP_NAMES.map((name) => [name, '1'])));
  });

  it('loads every alert rule and evaluates it without error', async () => {
    const response = await fetch(`${prometheus!.url}/api/v1/rules`);
    const body = (await response.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = body.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert ?? r.record).sort());
    for (const rule of loaded)
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });
  });

  it.each(rules.map((rule) => [rule.alert ?? rule.record ?? '?', rule.expr] as const))(
    'alert rule %s parses and runs',
    async (_name, expr) => {
      await expect(prometheus!.client.query(expr)).resolves.toBeDefined();
    },
  );

  it.each(dashboardQueries.map((q) => [`${q.panelTitle} (${q.refId})`, q.expr] as const))(
    'dashboard query "%s" parses and returns data',
    async (_name, expr) => {
      const series = await expectData(prometheus!.client, substituteGrafanaVariables(expr, VARIABLES));
      expect(series.length).toBeGreaterThan(0);
    },
  );

  it('shows the served model and the predicted classes', async () => {
    const info = await expectData(prometheus!.client, 'sepal_model_info{job="inference"} == 1');
    expect(info[0].metric).toMatchObject({ model: 'IrisModel', version: expect.stringMatching(/^\d+$/) });
    const classes = await expectData(
      prometheus!.client,
      'sum by (class) (sepal_predictions_total{job="inference"})',
    );
    expect(classes.map((s) => s.metric.class).sort()).toEqual(IRIS_LABELS);
  });

  it('shows the dataset rows of the latest version and the feedback counts from the database', async () => {
    const rows = await expectData(prometheus!.client, 'sepal_dataset_rows{job="data", dataset="iris"}');
    expect(Object.fromEntries(rows.map((s) => [s.metric.split, Number(s.values[0][1])]))).toEqual({
      train: 120,
      test: 30,
    });
    const received = await expectData(
      prometheus!.client,
      'sepal_feedback_received_total{job="data", dataset="iris"}',
    );
    expect(Number(received[0].values[0][1])).toBe(5);
    const pending = await expectData(
      prometheus!.client,
      'sepal_feedback_pending{job="data", dataset="iris"}',
    );
    expect(Number(pending[0].values[0][1])).toBe(5);
  });

  it('shows live quality of the served version from the labelled predictions, beside its test figure', async () => {
    const labelled = await expectData(
      prometheus!.client,
      'sepal_live_labelled_rows{job="data", model="IrisModel"}',
    );
    expect(Number(labelled[0].values[0][1])).toBe(3);
    const accuracy = await expectData(
      prometheus!.client,
      'sepal_live_quality{job="data", model="IrisModel", metric="accuracy"}',
    );
    expect(Number(accuracy[0].values[0][1])).toBeGreaterThanOrEqual(0);
    const figure = await expectData(
      prometheus!.client,
      'sepal_live_quality_test_figure{job="data", model="IrisModel", metric="accuracy"}',
    );
    expect(Number(figure[0].values[0][1])).toBe(0.9);
  });

  it('renders every dashboard as a page and every panel as a PNG from the live data (npm run dashboards:screenshot)', async () => {
    const outDir =
      process.env.MONITORING_RENDER_DIR ?? (await mkdtemp(join(tmpdir(), 'sepal-dashboards-out-')));
    try {
      const { dashboards: rendered, failures } = await renderDashboards({
        prometheusUrl: prometheus!.url,
        dashboardsDir: DASHBOARDS_DIR,
        outDir,
        rangeSeconds: 120,
        rateInterval: VARIABLES.rateInterval,
        log: () => undefined,
      });
      expect(failures).toEqual([]);
      expect(rendered.map((d) => d.file)).toEqual(dashboards().map((d) => d.file));
      for (const { dashboard, file } of dashboards()) {
        const { panels, screenshot, html } = rendered.find((d) => d.file === file)!;
        expect(panels.map((p) => p.panelId)).toEqual(queryPanels(dashboard).map((p) => p.id));
        for (const png of [screenshot, ...panels.map((p) => p.file)])
          expect(readFileSync(png).subarray(1, 4).toString('ascii')).toBe('PNG');
        expect(readFileSync(html, 'utf8')).toContain(`<title>${dashboard.title}</title>`);
        // Every query returns data (the query tests above), so every panel draws at least one series.
        for (const panel of queryPanels(dashboard)) {
          const drawn = panels.find((p) => p.panelId === panel.id)!;
          expect({ panel: panel.title, hasSeries: drawn.series > 0 }).toEqual({
            panel: panel.title,
            hasSeries: true,
          });
        }
      }
    } finally {
      if (!process.env.MONITORING_RENDER_DIR) await rm(outDir, { recursive: true, force: true });
    }
  }, 60_000);

  describe('the evaluation helper', () => {
    it('rejects a malformed expression with Prometheus’s parse error', async () => {
      await expect(prometheus!.client.query('sum(rate(http_requests_total[1m])')).rejects.toThrow(
        PromQueryError,
      );
      await expect(prometheus!.client.query('rate(http_requests_total)')).rejects.toThrow(
        new RegExp(`bad_data: .*\\(HTTP 400 from ${prometheus!.url}/api/v1/query;`),
      );
      await expect(
        prometheus!.client.query(
          substituteGrafanaVariables('histogram_quantile(0.99, rate(x[$__rate_interval])', VARIABLES),
        ),
      ).rejects.toThrow(/parse error/);
    });

    it('fails an expression that parses but returns no data', async () => {
      await expect(expectData(prometheus!.client, 'sepal_no_such_metric_total')).rejects.toThrow(/no data/);
      await expect(expectData(prometheus!.client, 'up{job="inference"} > 5')).rejects.toThrow(/no data/);
    });

    it('names the Prometheus URL when it does not answer', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      await expect(new PrometheusHttp(url).query('up')).rejects.toThrow(PrometheusUnreachableError);
      await expect(new PrometheusHttp(url).query('up')).rejects.toThrow(`Prometheus at ${url}/api/v1/query`);
    });

    it('accepts a known good expression', async () => {
      await expect(
        expectData(prometheus!.client, `count(up) > 0 and vector(${randomUUID().length})`),
      ).resolves.toHaveLength(1);
    });
  });
});
