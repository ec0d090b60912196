/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * A debugging aid, skipped unless FUZZ_REPLAY names a trace: replays, one at a time, the requests a fuzz run wrote
 * with FUZZ_TRACE=<file> (e.g. the last lines before the process died), printing each answer, its time and the heap
 * it took, so the request that hangs or exhausts memory shows as the last one printed.
 *   FUZZ_REPLAY=/tmp/last.jsonl npx jest --runInBand test/fuzz/replay-trace.test.ts
 */
import { readFileSync } from 'node:fs';
import type { FuzzRequest } from './requests';
import { FuzzStack, send, startFuzzStack } from './stack';

const trace = process.env.FUZZ_REPLAY;
const describeReplay = trace ? describe : describe.skip;

describeReplay('replaying a fuzz trace', () => {
  let stack: FuzzStack;

  beforeAll(async () => {
    stack = await startFuzzStack();
  }, 120_000);

  afterAll(async () => stack?.close(), 60_000);

  it('replays each traced request and prints its answer', async () => {
    const requests = readFileSync(trace!, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{"app"'))
      .map((line) => JSON.parse(line) as FuzzRequest);
    for (const request of requests) {
      const started = Date.now();
      const heap = process.memoryUsage().heapUsed;
      const body = request.body === undefined ? undefined : Buffer.from(request.body);
      const answer = await send(
        `${stack.urls.get(request.app)}${request.url}`,
        request.method,
        body,
        request.contentType,
        undefined,
        request.headers,
      );
      const grew = Math.round((process.memoryUsage().heapUsed - heap) / 1e6);
      console.log(
        `${answer.status} in ${Date.now() - started} ms, heap +${grew} MB: ${request.app} ${request.method} ` +
          `${request.url.slice(0, 100)} [${request.mutation}] -> ${answer.text.slice(0, 200)}`,
      );
      expect(answer.status).toBeLessThan(500);
    }
  }, 600_000);
});
