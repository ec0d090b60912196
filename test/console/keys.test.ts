/*
 * The console with keys, in chromium: a 401 from a service opens the key prompt; with the key given, the page loads
 * with it, and the actions its scopes do not allow are shown disabled (GET /keys/self on the registry names them).
 * The services are a stand-in here (the journey test runs the real ones without a key).
 */
import { IncomingMessage } from 'node:http';
import type { Page } from 'puppeteer-core';
import { StandInConsole, startStandInConsole } from './support/stand-in-console';

const KEY = 'viewer-key-123';
const SHA = 'a'.repeat(64);

const ANSWERS: Record<string, unknown> = {
  '/keys/self': { name: 'viewer', scopes: ['read'] },
  '/models/IrisModel': {
    name: 'IrisModel',
    description: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    aliases: { champion: 1 },
    versions: [
      {
        name: 'IrisModel',
        version: 1,
        runId: null,
        sha256: SHA,
        metrics: { test_accuracy: 0.9 },
        createdAt: '2026-01-01T00:00:00.000Z',
        description: null,
      },
    ],
  },
  '/models/IrisModel/audit': [],
  '/models/IrisModel/versions/1/lineage': {
    model: 'IrisModel',
    version: 1,
    sha256: SHA,
    run: null,
    parentRun: null,
    dataset: 'iris',
    datasetVersion: 'b'.repeat(64),
  },
};

describe('the console with API keys', () => {
  let consoleApp: StandInConsole;
  const seenKeys: (string | undefined)[] = [];
  const forwardedFor: (string | undefined)[] = [];
  let page: Page;
  let base: string;

  beforeAll(async () => {
    // Every read needs the key, like SEPAL_READ_REQUIRES_KEY=true.
    consoleApp = await startStandInConsole((request: IncomingMessage, response) => {
      const key = request.headers['x-api-key'] as string | undefined;
      seenKeys.push(key);
      // The console's own scrape of /metrics has no browser behind it.
      if (!request.url!.startsWith('/metrics'))
        forwardedFor.push(request.headers['x-forwarded-for'] as string | undefined);
      const path = request.url!.split('?')[0];
      const status = key !== KEY ? 401 : path in ANSWERS ? 200 : 404;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          status === 200
            ? ANSWERS[path]
            : {
                statusCode: status,
                message: status === 401 ? 'This endpoint needs the API key' : 'no such thing',
              },
        ),
      );
    });
    ({ base, page } = consoleApp);
  }, 60_000);

  afterAll(async () => {
    await consoleApp?.close();
  });

  it('prompts for the key on a 401, then shows the page with the actions the key may not do disabled', async () => {
    await page.goto(`${base}/models/IrisModel`, { waitUntil: 'load' });
    await page.waitForSelector('[role="dialog"] #api-key', { timeout: 20_000 });
    expect(await page.$eval('[role="dialog"]', (el) => el.textContent)).toMatch(/API key needed/);
    await page.type('#api-key', KEY);
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForSelector('#promote-version', { timeout: 20_000 });
    await page.waitForFunction(`document.body.textContent.includes('key viewer: read')`, { timeout: 20_000 });
    await page.type('#promote-reason', 'a reason');
    const button = await page.$('#promote-h ~ .row button[type="submit"]');
    expect(await button!.evaluate((el) => [el.hasAttribute('disabled'), el.getAttribute('title')])).toEqual([
      true,
      'Your key does not have the "promote" scope',
    ]);
    expect(await page.$eval('main', (el) => el.textContent)).toMatch(/does not have the promote scope/);
    expect(seenKeys).toContain(KEY);
    expect(seenKeys).toContain(undefined);
    // The services learn the browser's address (for SEPAL_TRUSTED_PROXIES), not only the console's.
    expect(new Set(forwardedFor)).toEqual(new Set(['127.0.0.1']));
  }, 60_000);
});
