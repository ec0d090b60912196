import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { AppName, APPS, ProcessStack, startProcessStack } from './process-stack';

jest.setTimeout(300_000);

const ADMIN_KEY = `edge-bodies-${Math.random().toString(36).slice(2)}-admin-key`;
const BODY_BYTES = 200 * 1024 * 1024;
const BODIES = 20;
const RSS_MARGIN = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);

/** A POST route of each app that takes a body, with the content type it reads. */
const TARGETS: Record<AppName, { path: string; type: string }> = {
  data: { path: '/datasets/big/import?target=label', type: 'text/csv' },
  registry: { path: '/artifacts', type: 'application/octet-stream' },
  trainer: { path: '/train', type: 'application/json' },
  inference: { path: '/predict', type: 'application/json' },
  console: { path: '/api/data/datasets/big/import?target=label', type: 'text/csv' },
};

/** A 200 MiB body made as it is read (never allocated whole); counts the bytes the server took. */
function bigBody(): { stream: Readable; sent: () => number } {
  let sent = 0;
  const stream = Readable.from(
    (function* () {
      while (sent < BODY_BYTES) {
        sent += CHUNK.length;
        yield CHUNK;
      }
    })(),
  );
  return { stream, sent: () => sent };
}

/** Sends one unauthenticated 200 MiB POST; resolves with the status and the time to the answer, then hangs up. */
function unauthenticatedUpload(url: string, target: { path: string; type: string }) {
  return new Promise<{ status: number; ms: number; sentMiB: number }>((resolve, reject) => {
    const started = performance.now();
    const body = bigBody();
    const request = httpRequest(`${url}${target.path}`, {
      method: 'POST',
      headers: { 'content-type': target.type, 'content-length': String(BODY_BYTES) },
    });
    request.on('response', (response) => {
      const ms = performance.now() - started;
      response.resume();
      resolve({ status: response.statusCode ?? 0, ms, sentMiB: body.sent() / 1024 / 1024 });
      request.destroy();
      body.stream.destroy();
    });
    request.on('error', (error) => {
      if (!request.destroyed) reject(error);
    });
    body.stream.pipe(request);
  });
}

/**
 * Nothing before the key, on the real stack: each app as its own process, keys on. 20 unauthenticated 200 MiB bodies
 * at once to each app are all answered 401 within 1 s, and leave the process's memory within 50 MB of where it was.
 */
describe('unauthenticated 200 MiB bodies (five processes, keys on)', () => {
  let stack: ProcessStack;

  beforeAll(async () => {
    stack = await startProcessStack({ SEPAL_API_KEY: ADMIN_KEY });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(APPS)(
    '%s answers every one 401 within 1 s, its RSS within 50 MB of where it started',
    async (app) => {
      const target = TARGETS[app];
      // Warm up: the first requests of a process load code (not what is measured).
      for (let i = 0; i < 3; i++) {
        const warm = await fetch(`${stack.url(app)}${target.path}`, {
          method: 'POST',
          headers: { 'content-type': target.type },
          body: '{}',
        });
        expect(warm.status).toBe(401);
      }
      const before = stack.rss(app);
      const answers = await Promise.all(
        Array.from({ length: BODIES }, () => unauthenticatedUpload(stack.url(app), target)),
      );
      const after = stack.rss(app);
      const slowest = Math.max(...answers.map((a) => a.ms));
      const sent = answers.reduce((sum, a) => sum + a.sentMiB, 0);
      console.log(
        `${app}: ${BODIES} x 200 MiB unauthenticated: statuses ${[...new Set(answers.map((a) => a.status))].join(',')}, ` +
          `slowest answer ${slowest.toFixed(0)} ms, ${sent.toFixed(1)} MiB sent in all before the answers, ` +
          `RSS ${(before / 1048576).toFixed(0)} -> ${(after / 1048576).toFixed(0)} MiB`,
      );
      expect(answers.map((a) => a.status)).toEqual(Array(BODIES).fill(401));
      expect(slowest).toBeLessThan(1000);
      expect(after - before).toBeLessThan(RSS_MARGIN);
      expect(stack.services[app].running).toBe(true);
    },
  );
});
