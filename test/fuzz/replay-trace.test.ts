/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { readFileSync } from 'node:fs';
import { send, startFuzzStack, FuzzStack } from './stack';
import type { FuzzRequest } from './requests';

describe('replay', () => {
  let stack: FuzzStack;
  beforeAll(async () => {
    stack = await startFuzzStack();
  }, 120_000);
  afterAll(async () => stack?.close());
  it('replays', async () => {
    const lines = readFileSync(process.env.REPLAY!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FuzzRequest);
    for (const r of lines) {
      const t = Date.now();
      const before = process.memoryUsage().heapUsed;
      const a = await Promise.race([
        send(
          `${stack.urls.get(r.app)}${r.url}`,
          r.method,
          r.body === undefined ? undefined : Buffer.from(r.body),
          r.contentType,
        ),
        new Promise<{ status: number; text: string }>((res) =>
          setTimeout(() => res({ status: -1, text: 'TIMEOUT' }), 20000),
        ),
      ]);
      console.log(
        `${a.status} ${Date.now() - t}ms heap+${Math.round((process.memoryUsage().heapUsed - before) / 1e6)}MB ${r.app} ${r.method} ${r.url.slice(0, 80)} ${r.contentType} ${(r.body ?? '').slice(0, 60)} -> ${a.text.slice(0, 150)}`,
      );
    }
  }, 600_000);
});
