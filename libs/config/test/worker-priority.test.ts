import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { BACKGROUND_NICE, runInBackground } from '../src/worker-priority';
import { workerScript } from '../src/worker-script';

/** The built module (a worker thread runs JavaScript): `npm run build` first, as npm test does. */
const BUILT = workerScript(join(__dirname, '../src'), 'worker-priority');

/** Runs runInBackground in a worker thread and reports its nice value and the thread's as the kernel sees it. */
function inWorker(): Promise<{ nice: number; kernelNice: number | null }> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const { readFileSync, readlinkSync } = require('node:fs');
    const { runInBackground } = require(${JSON.stringify(BUILT)});
    const nice = runInBackground();
    let kernelNice = null;
    try {
      const tid = readlinkSync('/proc/thread-self').split('/').pop();
      kernelNice = Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
    } catch {}
    parentPort.postMessage({ nice, kernelNice });
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('runInBackground', () => {
  it('refuses to lower the main thread', () => {
    expect(() => runInBackground()).toThrow(/a worker thread, not the main thread/);
  });

  it('lowers only the calling worker thread', async () => {
    const before = getPriority();
    const { nice, kernelNice } = await inWorker();
    expect(nice).toBe(Math.max(before, BACKGROUND_NICE));
    if (process.platform === 'linux') expect(kernelNice).toBe(nice);
    expect(getPriority()).toBe(before);
    if (process.platform === 'linux') {
      const mainNice = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]);
      expect(mainNice).toBe(before);
    }
  });
});
