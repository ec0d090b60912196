/*
 * Screenshots of a dashboard page (./render-page.ts) in headless Chromium through puppeteer-core. The browser is the
 * system's (Debian's `chromium` package, or CHROMIUM_PATH): puppeteer-core never downloads one.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** The page width the dashboards are laid out at (CSS pixels), about a laptop's Grafana. */
export const PAGE_WIDTH = 1600;

export class ChromiumMissingError extends Error {
  constructor(readonly executablePath: string) {
    super(
      `Chromium is not installed at ${executablePath}: \`apt-get update && apt-get install -y chromium\` ` +
        '(scripts/ensure-test-tools.sh does it in CI), or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
    this.name = 'ChromiumMissingError';
  }
}

/** CHROMIUM_PATH, else Debian's chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
}

/** Starts headless Chromium; throws ChromiumMissingError (saying how to install it) when the binary is absent. */
export async function launchChromium(executablePath = chromiumPath()): Promise<Browser> {
  if (!existsSync(executablePath)) throw new ChromiumMissingError(executablePath);
  return puppeteer.launch({
    executablePath,
    headless: true,
    // --no-sandbox: Chromium's sandbox needs user namespaces, which containers and CI running as root lack.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--hide-scrollbars'],
    timeout: 30_000,
  });
}

/**
 * Opens a dashboard page and waits until it has drawn every chart (body[data-ready]). Throws with the page's own
 * errors if its script failed, so a broken page never passes for a screenshot.
 */
export async function openDashboardPage(
  browser: Browser,
  htmlFile: string,
  width = PAGE_WIDTH,
): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // A short viewport: full-page screenshots are then as tall as the dashboard, not more.
  await page.setViewport({ width, height: 300 });
  try {
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  } catch (error) {
    await page.close();
    throw new Error(
      `the dashboard page ${htmlFile} did not draw: ${errors.join('; ') || (error as Error).message}`,
    );
  }
  if (errors.length) {
    await page.close();
    throw new Error(`the dashboard page ${htmlFile} reported errors: ${errors.join('; ')}`);
  }
  return page;
}

export interface DashboardScreenshots {
  /** The whole page. */
  page: string;
  /** Each panel on its own, by panel id. */
  panels: { panelId: string; file: string }[];
}

/** Screenshots the whole page to `pageFile` and each panel (section[data-panel-id]) to `panelFile(id)`. */
export async function screenshotDashboard(
  browser: Browser,
  htmlFile: string,
  pageFile: string,
  panelFile: (panelId: string) => string,
): Promise<DashboardScreenshots> {
  const page = await openDashboardPage(browser, htmlFile);
  try {
    await page.screenshot({ path: pageFile as `${string}.png`, fullPage: true });
    const panels: DashboardScreenshots['panels'] = [];
    for (const handle of await page.$$('section[data-panel-id]')) {
      const panelId = (await handle.evaluate((element) => element.getAttribute('data-panel-id'))) ?? '';
      const file = panelFile(panelId);
      await handle.screenshot({ path: file as `${string}.png` });
      panels.push({ panelId, file });
    }
    return { page: pageFile, panels };
  } finally {
    await page.close();
  }
}
