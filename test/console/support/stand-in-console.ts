/** The built console in this process against stand-in services, and chromium on it (for the console's page tests). */
import { existsSync } from 'node:fs';
import { createServer, RequestListener } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ConsoleConfig, startConsoleApp } from '../../../apps/console/src/index';

const ROOT = join(__dirname, '../../..');

export interface StandInConsole {
  /** The console's URL. */
  base: string;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * Serves `services` on a loopback port as the data service, registry, trainer and gateway at once, starts the built
 * console in front of it and opens a chromium page (CHROMIUM_PATH, else /usr/bin/chromium). Needs `npm run build`.
 */
export async function startStandInConsole(services: RequestListener): Promise<StandInConsole> {
  if (!existsSync(join(ROOT, 'dist/apps/console/web/index.html'))) {
    throw new Error('dist/apps/console/web is missing: run `npm run build` first (npm test does).');
  }
  const server = createServer(services);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let app: INestApplication | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    server.close();
  };
  try {
    app = await startConsoleApp(
      ConsoleConfig.load({
        CONSOLE_PORT: '0',
        CONSOLE_HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        DATA_URL: url,
        REGISTRY_URL: url,
        TRAINER_URL: url,
        INFERENCE_URL: url,
      }),
    );
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    return { base, browser, page: await browser.newPage(), close };
  } catch (error) {
    await close();
    throw error;
  }
}
