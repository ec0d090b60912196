import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { waitFor } from '@sepal/testing';
import { AppName, APPS, ProcessStack, startProcessStack } from './process-stack';

jest.setTimeout(400_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IRIS_ROW = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 };

/** A GET answered with its status and body, with a Host header of our choosing (fetch cannot set Host). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** What the attacker's page tries against the local stack, each result recorded in window.results. */
const attackerPage = (urls: Record<AppName, string>) => `<!doctype html><html><body>
<form id="form" method="POST" enctype="text/plain" target="sink"
  action="${urls.data}/datasets/formed/import?target=label"><input name="a,b,label&#10;1,2,x&#10;3,4,y&#10;5" value=""></form>
<iframe name="sink"></iframe>
<script>
window.results = {};
const attempt = async (name, run) => {
  try { window.results[name] = await run(); } catch (error) { window.results[name] = 'blocked: ' + error.message; }
};
(async () => {
  const csv = 'a,b,label\\n1,2,x\\n3,4,y\\n5,6,x\\n7,8,y\\n';
  await attempt('import (no-cors, text/plain)', async () => {
    const r = await fetch('${urls.data}/datasets/evil/import?target=label', {
      method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: csv });
    return 'opaque:' + r.type;
  });
  await attempt('import (cors, text/csv)', async () => {
    const r = await fetch('${urls.data}/datasets/evil2/import?target=label', {
      method: 'POST', headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' }, body: csv });
    return 'status:' + r.status;
  });
  await attempt('import through the console (no-cors)', async () => {
    const r = await fetch('${urls.console}/api/data/datasets/evil3/import?target=label', {
      method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: csv });
    return 'opaque:' + r.type;
  });
  await attempt('train (no-cors, text/plain)', async () => {
    const r = await fetch('${urls.trainer}/train', {
      method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ dataset: 'iris', grid: { hiddenUnits: [4] } }) });
    return 'opaque:' + r.type;
  });
  await attempt('promote (cors PUT)', async () => {
    const r = await fetch('${urls.registry}/models/IrisModel/aliases/evil', {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1, reason: 'evil' }) });
    return 'status:' + r.status;
  });
  await attempt('read keys (cors GET)', async () => {
    const r = await fetch('${urls.registry}/keys');
    return 'read:' + (await r.text()).slice(0, 100);
  });
  await attempt('read keys through the console (cors GET)', async () => {
    const r = await fetch('${urls.console}/api/registry/keys');
    return 'read:' + (await r.text()).slice(0, 100);
  });
  document.getElementById('form').submit();
  window.results.done = true;
})();
</script></body></html>`;

/**
 * Keyless means this machine only, on the real stack (five processes, no SEPAL_API_KEY): a page in the user's browser
 * served from another origin (127.0.0.2) cannot import, train, promote or read keys; a foreign Host (DNS rebinding)
 * is refused; the CLI-like client (JSON and X-Sepal-Client) still works; and a request missing a feature the model
 * needs is 422 on /predict, the flat body and OIP.
 */
describe('a page on another site, and a foreign Host, against a keyless stack', () => {
  let stack: ProcessStack;
  let browser: Browser;
  let attacker: Server;
  let userDataDir: string;
  const urls = {} as Record<AppName, string>;

  const json = async (app: AppName, path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${stack.url(app)}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        'x-sepal-client': '1',
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  beforeAll(async () => {
    stack = await startProcessStack({
      TRAINER_WORKERS: '1',
      GATE_MIN_IMPROVEMENT: '-1',
      MODEL_RETRY_INTERVAL_MS: '500',
    });
    for (const app of APPS) urls[app] = stack.url(app);
    attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(attackerPage(urls));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.2', resolve));
    userDataDir = mkdtempSync(join(tmpdir(), 'sepal-edge-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${userDataDir}`,
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    attacker?.close();
    await stack?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('answers a foreign Host 421 on every app, loopback names 200', async () => {
    for (const app of APPS) {
      const port = new URL(stack.url(app)).port;
      const foreign = await getWithHost(`${stack.url(app)}/health/live`, `attacker.example:${port}`);
      expect([app, foreign.status]).toEqual([app, 421]);
      expect(foreign.body).toMatch(/is not this machine/);
      expect((await getWithHost(`${stack.url(app)}/health/live`, `localhost:${port}`)).status).toBe(200);
    }
    const keys = await getWithHost(`${stack.url('registry')}/keys`, 'attacker.example');
    expect(keys.status).toBe(421);
  });

  it('takes the same calls from a local client with JSON and X-Sepal-Client; a missing feature is 422 everywhere', async () => {
    expect((await json('data', '/datasets/iris/import', { method: 'POST', body: {} })).status).toBe(201);
    const job = await json('trainer', '/train', {
      method: 'POST',
      body: { dataset: 'iris', grid: { hiddenUnits: [8] }, params: { epochs: 40 } },
    });
    expect(job.status).toBe(202);
    await waitFor(
      async () => (await json('inference', '/predict', { method: 'POST', body: IRIS_ROW })).status === 200,
      {
        timeoutMs: 240_000,
        description: `the gateway to serve the first champion\n${stack.report()}`,
      },
    );
    const predict = (body: unknown) =>
      fetch(`${stack.url('inference')}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const answers = {
      features: await predict({ features: { sepal_length: 5.1 } }),
      flat: await predict({ sepal_length: 5.1 }),
      oip: await fetch(`${stack.url('inference')}/v2/models/IrisModel/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, null, null, null] }],
        }),
      }),
    };
    for (const [route, response] of Object.entries(answers)) {
      const body = (await response.json()) as { message?: string; error?: string };
      expect([route, response.status]).toEqual([route, 422]);
      expect(JSON.stringify(body)).toMatch(/missing required feature\(s\) sepal_width/);
      expect(JSON.stringify(body).length).toBeLessThan(600);
    }
    const full = await predict(IRIS_ROW);
    expect(full.status).toBe(200);
    const unknown = await predict({ ...IRIS_ROW, colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/unknown feature\(s\) colour/);
  });
  // After the local client's test: iris and IrisModel exist, so every refusal below is one of something possible.
  it('lets a page on 127.0.0.2 import, train, promote or read keys in no way', async () => {
    const jobsBefore = ((await json('registry', '/jobs')).body as { jobs: unknown[] }).jobs.length;
    const auditBefore = (await json('registry', '/models/IrisModel/audit')).body as unknown as unknown[];
    const irisBefore = (await json('data', '/datasets/iris')).body;
    expect(jobsBefore).toBeGreaterThan(0);
    expect(auditBefore.length).toBeGreaterThan(0);
    const page = await browser.newPage();
    const pageUrl = `http://127.0.0.2:${(attacker.address() as AddressInfo).port}/`;
    await page.goto(pageUrl, { waitUntil: 'load' });
    await page.waitForFunction('window.results && window.results.done === true', { timeout: 30_000 });
    const results = (await page.evaluate('window.results')) as Record<string, unknown>;
    console.log(`what the page on another origin got: ${JSON.stringify(results, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the form's navigation
    for (const [name, result] of Object.entries(results)) {
      if (name === 'done') continue;
      // Either the browser blocked it (no CORS grant) or the answer was opaque; never a readable success.
      expect([name, String(result)]).toEqual([name, expect.stringMatching(/^(blocked|opaque)/)]);
    }
    await page.close();
    const datasets = (await json('data', '/datasets')).body as unknown as { name: string }[];
    expect(datasets.map((d) => d.name)).not.toEqual(expect.arrayContaining(['evil']));
    for (const name of ['evil', 'evil2', 'evil3', 'formed']) {
      expect(datasets.map((d) => d.name)).not.toContain(name);
    }
    expect((await json('data', '/datasets/iris')).body).toEqual(irisBefore);
    const jobs = (await json('registry', '/jobs')).body as { jobs: unknown[] };
    expect(jobs.jobs).toHaveLength(jobsBefore);
    expect((await json('registry', '/models/IrisModel/audit')).body).toEqual(auditBefore);
    expect((await json('registry', '/models/IrisModel/aliases/evil')).status).toBe(404);
  });
});
