/*
 * The console's monitoring pages in chromium against stand-in services (the journey test runs the real ones): a
 * model's prediction log with its filters and pages, and its live quality per version beside the test figure with
 * each feature's reference and live distributions and PSI. Screenshots in test-output/console/ (git-ignored), and
 * axe-core on each page with no serious or critical violation. Needs the build (`npm run build`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { StandInConsole, startStandInConsole } from './support/stand-in-console';

const ROOT = join(__dirname, '../..');
const OUT = join(ROOT, 'test-output/console');
const SHA = 'a'.repeat(64);
const IDS = [
  '019a0000-0000-7000-8000-000000000001',
  '019a0000-0000-7000-8000-000000000002',
  '019a0000-0000-7000-8000-000000000003',
];
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

const version = (n: number, accuracy: number) => ({
  name: 'IrisModel',
  version: n,
  runId: null,
  sha256: SHA,
  metrics: { test_accuracy: accuracy, test_macro_f1: accuracy - 0.02 },
  createdAt: '2026-01-01T00:00:00.000Z',
  description: null,
});

const entry = (predictionId: string, label: string | null, predicted = 'Iris-setosa') => ({
  predictionId,
  model: 'IrisModel',
  version: 2,
  sha256: SHA,
  inputs: ROW,
  output: { class: predicted, probabilities: { [predicted]: 0.9 } },
  latencyMs: 0.42,
  keyName: 'shop',
  at: '2026-12-07T10:00:00.000Z',
  label,
  labelledAt: label ? '2026-12-07T10:05:00.000Z' : null,
});

const feature = (name: string, psi: number, live: number[]) => ({
  name,
  edges: [1, 2, 3],
  reference: [0.25, 0.25, 0.25, 0.25],
  live,
  psi,
});

/** Answers by path (and for the log, by its `after`): registry, data and gateway in one stand-in. */
function answer(url: URL): unknown {
  switch (url.pathname) {
    case '/models/IrisModel':
      return {
        name: 'IrisModel',
        description: null,
        createdAt: '2026-01-01T00:00:00.000Z',
        aliases: { champion: 2 },
        versions: [version(1, 0.8), version(2, 0.9)],
      };
    case '/predictions':
      return url.searchParams.get('after') === IDS[1]
        ? { items: [entry(IDS[2], null)], next: null }
        : { items: [entry(IDS[0], 'Iris-setosa'), entry(IDS[1], 'Iris-virginica')], next: IDS[1] };
    case '/predictions/quality':
      return {
        model: 'IrisModel',
        windowMinutes: 1440,
        versions: [
          {
            version: 2,
            labelled: 40,
            metrics: [
              { metric: 'accuracy', value: 0.75, test: 0.9 },
              { metric: 'macro_f1', value: 0.7, test: 0.88 },
            ],
          },
        ],
      };
    case '/models/IrisModel/drift':
      return {
        model: 'IrisModel',
        versions: [
          {
            version: 2,
            windowRows: 400,
            windowSize: 1000,
            minRows: 200,
            threshold: 0.2,
            features: [
              feature('sepal_length', 0.01, [0.24, 0.26, 0.25, 0.25]),
              feature('petal_length', 0.345, [0.05, 0.1, 0.25, 0.6]),
            ],
          },
        ],
      };
    default:
      return undefined;
  }
}

describe('the console monitoring pages in a real browser', () => {
  let consoleApp: StandInConsole;
  const seen: URL[] = [];
  let page: Page;
  let base: string;
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

  async function check(name: string): Promise<void> {
    await page.screenshot({ path: join(OUT, `monitoring-${name}.png`), fullPage: true });
    await page.evaluate(axeSource);
    const violations = (await page.evaluate(`(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help }));
    })()`)) as { id: string; impact: string | null; help: string }[];
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect({ page: name, serious }).toEqual({ page: name, serious: [] });
  }
  const cells = (selector: string) =>
    page.$$eval(selector, (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())),
    );

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    consoleApp = await startStandInConsole((request, response) => {
      const url = new URL(request.url!, 'http://stand-in');
      seen.push(url);
      const body = answer(url);
      response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body ?? { statusCode: 404, message: 'no such thing' }));
    });
    ({ base, page } = consoleApp);
    await page.setViewport({ width: 1400, height: 900 });
  }, 60_000);

  afterAll(async () => {
    await consoleApp?.close();
  });

  it('links the model page to its prediction log and monitoring', async () => {
    await page.goto(`${base}/models/IrisModel`, { waitUntil: 'load' });
    await page.waitForSelector('a[href="/models/IrisModel/predictions"]', { timeout: 20_000 });
    expect(await page.$('a[href="/models/IrisModel/monitoring"]')).not.toBeNull();
  }, 30_000);

  it('lists the prediction log with its labels, filters it by version and time, and pages through it', async () => {
    await page.click('a[href="/models/IrisModel/predictions"]');
    await page.waitForSelector(`tr[data-prediction="${IDS[1]}"]`, { timeout: 20_000 });
    expect(await page.title()).toBe('Prediction log of IrisModel · Sepal console');
    const rows = await cells('table[aria-label="Logged predictions"] tbody tr');
    expect(rows.map((r) => [r[2], r[4], r[5], r[6], r[7]])).toEqual([
      ['v2', 'Iris-setosa', 'Iris-setosa', 'right', 'shop'],
      ['v2', 'Iris-setosa', 'Iris-virginica', 'wrong', 'shop'],
    ]);
    expect(rows[0][3]).toBe('sepal_length=5.1 sepal_width=3.5 petal_length=1.4 petal_width=0.2');
    await check('prediction-log');

    await page.select('#log-version', '2');
    await page.type('#log-from', '12072026');
    await page.keyboard.press('Tab');
    await page.type('#log-from', '0930AM');
    await page.click('#filters-h ~ .row button[type="submit"]');
    const filtered = await new Promise<URL>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const poll = () => {
        const hit = seen.find((u) => u.pathname === '/predictions' && u.searchParams.get('version') === '2');
        if (hit) resolve(hit);
        else if (Date.now() > deadline) reject(new Error('no filtered request'));
        else setTimeout(poll, 100);
      };
      poll();
    });
    expect(filtered.searchParams.get('model')).toBe('IrisModel');
    expect(filtered.searchParams.get('limit')).toBe('50');
    // The browser's local 09:30 on 7 December 2026, as an ISO instant.
    expect(filtered.searchParams.get('from')).toMatch(/^2026-12-0[67]T\d\d:\d\d:00\.000Z$/);

    const [next] = await page.$$('xpath/.//button[contains(., "Next page")]');
    await next.click();
    await page.waitForSelector(`tr[data-prediction="${IDS[2]}"]`, { timeout: 20_000 });
    expect(seen.at(-1)!.searchParams.get('after')).toBe(IDS[1]);
    expect(await page.$eval('[data-testid="log-position"]', (el) => el.textContent)).toMatch(
      /^Page 2: 1 prediction/,
    );
    expect(
      await page.$eval('xpath/.//button[contains(., "Next page")]', (b) => b.hasAttribute('disabled')),
    ).toBe(true);
    const [previous] = await page.$$('xpath/.//button[contains(., "Previous page")]');
    await previous.click();
    await page.waitForSelector(`tr[data-prediction="${IDS[0]}"]`, { timeout: 20_000 });
  }, 60_000);

  it('shows live quality beside the test figure, and each feature’s distributions and PSI', async () => {
    await page.goto(`${base}/models/IrisModel/monitoring`, { waitUntil: 'load' });
    await page.waitForSelector('tr[data-feature="petal_length"]', { timeout: 20_000 });
    await page.waitForSelector('tr[data-version="2"][data-metric="accuracy"]', { timeout: 20_000 });
    const quality = await cells('table[aria-label="Live quality"] tbody tr');
    expect(quality).toEqual([
      ['v2', 'accuracy', '0.75', '0.9', '-0.15 (worse)', '40'],
      ['v2', 'macro-F1', '0.7', '0.88', '-0.18 (worse)', '40'],
      ['v1', 'accuracy', 'no labels yet', '0.8', '—', '0'],
    ]);
    expect(await cells('table[aria-label="Feature drift"] tbody tr')).toEqual([
      ['sepal_length', '0.01', 'stable'],
      ['petal_length', '0.345', 'significant drift'],
    ]);
    expect(await page.$eval('[data-testid="drift-window"]', (el) => el.textContent)).toMatch(
      /v2: 400 of the last 1000 scored rows/,
    );
    // One chart per feature, reference and live bars drawn, described for screen readers.
    await page.waitForFunction(`document.querySelectorAll('.chart canvas').length === 2`, {
      timeout: 20_000,
    });
    const labels = await page.$$eval('.chart [role="img"]', (els) =>
      els.map((el) => el.getAttribute('aria-label')),
    );
    expect(labels[1]).toBe(
      'petal_length: PSI 0.345. training (reference): < 1 25%, 1–2 25%, 2–3 25%, ≥ 3 25%. ' +
        'live window: < 1 5%, 1–2 10%, 2–3 25%, ≥ 3 60%',
    );
    await check('monitoring');
  }, 60_000);
});
