/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * Fuzzing every app of the embedded stack with nothing lost. Requests are generated from each endpoint's contract
 * schema (libs/contracts, through z.toJSONSchema) and broken in one place each: wrong types, huge and negative
 * numbers, deep nesting, long and odd unicode strings, missing and extra fields, malformed JSON, wrong content types,
 * bad path and query parameters. Every route Nest serves is covered (one without a known schema gets generic input).
 * The suite requires: no answer >= 500, every app healthy afterwards, and no partial write (a refused import leaves
 * no dataset version, a refused alias move leaves the alias and the audit log as they were).
 *
 * FUZZ_REQUESTS sets the count (CI=true: at least 5,000, about 30 s; locally 2,000 by default); FUZZ_SEED replays a run;
 * FUZZ_ROUTES=<regex> fuzzes only the matching routes (by `app METHOD /path`).
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { FuzzRequest, requestArbitrary } from './requests';
import { regressions } from './regressions';
import { Route, routeKey, routesOf, specOf } from './routes';
import { FuzzStack, send, startFuzzStack } from './stack';

const CI_MINIMUM = 5_000;
const requested = Number(process.env.FUZZ_REQUESTS ?? (process.env.CI === 'true' ? CI_MINIMUM : 2_000));
const COUNT = process.env.CI === 'true' ? Math.max(CI_MINIMUM, requested) : requested;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 8;
/**
 * A request unanswered after this long is a failure named with the request (not resent: the server may still be
 * working on it), rather than the whole test running into jest's timeout with nothing said. The slowest answers took
 * about a second with 8 in flight and the 2 cores loaded (FUZZ_PROFILE=1, seed 1009), so this leaves a wide margin.
 */
const REQUEST_TIMEOUT_MS = 60_000;
/** FUZZ_ROUTES=<regex>: only the routes whose key (e.g. `registry PUT /models/:name/traffic`) matches, for a targeted run. */
const ONLY = process.env.FUZZ_ROUTES ? new RegExp(process.env.FUZZ_ROUTES) : undefined;

interface Outcome {
  request: FuzzRequest;
  status: number;
  text: string;
}

/**
 * The gateway's deliberate 503 for a model that is registered (the fuzzing itself registers some) but has no champion
 * to serve yet, as KServe answers ModelNotReady: documented, with the reason, and not a crash. Read as JSON: a model
 * name may hold a quote (a regular expression over the text stopped at its escape).
 */
function isModelNotReady(o: Pick<Outcome, 'status' | 'text'> & { request: Pick<FuzzRequest, 'app'> }) {
  if (o.status !== 503 || o.request.app !== 'inference') return false;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(o.text) as Record<string, unknown>;
  } catch {
    return false;
  }
  // The OIP shape puts the reason in `error`; Nest's puts a code there and the reason in `message`.
  const reasons = [body.error, body.message].filter((r): r is string => typeof r === 'string');
  // No champion in the registry yet, or one the gateway has not loaded yet (an alias the fuzzing moved, loading).
  if (reasons.length)
    return reasons.some((reason) => / has no champion for |: no champion loaded yet$/.test(reason));
  return typeof body.name === 'string' && body.ready === false && Object.keys(body).length === 2;
}

const show = (o: Outcome) =>
  `${o.request.app} ${o.request.method} ${o.request.url.slice(0, 200)} [${o.request.mutation}]` +
  `${o.request.body === undefined ? '' : ` body ${JSON.stringify(o.request.body.slice(0, 300))}`} -> ${o.status} ${o.text.slice(0, 300)}`;

const timings: [string, number][] = [];
afterAll(() => {
  if (process.env.FUZZ_PROFILE)
    console.log(
      timings
        .sort((a, b) => b[1] - a[1])
        .slice(0, 40)
        .map(([k, t]) => `${t} ${k}`)
        .join('\n'),
    );
});

/** Requests sent again after a connection was lost before any answer (see replay). */
let resent = 0;

async function replay(stack: FuzzStack, request: FuzzRequest, attempt = 1): Promise<Outcome> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  const started = Date.now();
  // FUZZ_TRACE=<file>: each request is appended before it is sent, so a crash of the process shows what was in flight.
  if (process.env.FUZZ_TRACE) {
    appendFileSync(
      process.env.FUZZ_TRACE,
      `${JSON.stringify({ ...request, body: request.body?.slice(0, 2000), bodyLength: request.body?.length })}\n`,
    );
  }
  try {
    const answer = await send(
      `${stack.urls.get(request.app)}${request.url}`,
      request.method,
      body,
      request.contentType,
      REQUEST_TIMEOUT_MS,
      request.headers,
      { freshConnection: attempt > 1 },
    );
    if (process.env.FUZZ_PROFILE) {
      const what = `${request.app} ${request.method} ${request.url.split('?')[0].slice(0, 50)} ${request.mutation}`;
      timings.push([what.slice(0, 150), Date.now() - started]);
    }
    if (process.env.FUZZ_TRACE) {
      appendFileSync(
        process.env.FUZZ_TRACE,
        `${JSON.stringify({ answered: answer.status, url: request.url })}\n`,
      );
    }
    return { request, status: answer.status, text: answer.text };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') {
      return { request, status: 599, text: `no HTTP answer within ${REQUEST_TIMEOUT_MS / 1000} s` };
    }
    // A kept-alive connection the server closed as the client reused it (a race of HTTP keep-alive, likelier on a
    // loaded machine) fails before any answer: sent once more, on a new connection of its own (fetch's pool may offer
    // another socket that is closing; CI once lost both tries that way). Failing there is a failure of the server.
    if (attempt === 1) {
      resent++;
      return replay(stack, request, 2);
    }
    return {
      request,
      status: 599,
      text: `no HTTP answer: ${String(error)} (${String((error as Error).cause)})`,
    };
  }
}

async function runAll(
  stack: FuzzStack,
  requests: FuzzRequest[],
  onOutcome: (o: Outcome) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) onOutcome(await replay(stack, requests[next++]));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Counts of what the platform holds, read through the APIs. */
async function snapshot(stack: FuzzStack) {
  const { modelName } = stack.world;
  const datasets = (await stack.call('data', 'GET', '/datasets')).json<
    { name: string; versionCount: number }[]
  >();
  const audit = (await stack.call('registry', 'GET', `/models/${modelName}/audit`)).json<unknown[]>();
  const aliases = new Map<string, number | null>();
  for (const alias of ['champion', 'challenger', 'canary']) {
    const answer = await stack.call('registry', 'GET', `/models/${modelName}/aliases/${alias}`);
    aliases.set(alias, answer.status === 200 ? Number(answer.json().version) : null);
  }
  return {
    versions: new Map(datasets.map((d) => [d.name, d.versionCount])),
    auditEntries: audit.length,
    aliases,
  };
}

const segmentsOf = (url: string) =>
  url
    .split('?')[0]
    .split('/')
    .slice(1)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });

describe('the fuzz verdict', () => {
  const outcome = (status: number, body: unknown, app: FuzzRequest['app'] = 'inference') => ({
    status,
    text: JSON.stringify(body),
    request: { app },
  });

  it('takes the documented not-ready 503 as an answer, whatever the model is called', () => {
    const noChampion = (name: string) => `the registry at http://x has no champion for ${name} yet`;
    expect(
      isModelNotReady(outcome(503, { error: `model 'iris' is not loaded: ${noChampion('iris')}` })),
    ).toBe(true);
    // Seed 1006: the model was named '"', and the escaped quote hid the reason from a regular expression.
    expect(
      isModelNotReady(
        outcome(503, { message: `the dataset of model '"' is not known yet: ${noChampion('"')}` }),
      ),
    ).toBe(true);
    expect(isModelNotReady(outcome(503, { name: 'a"b', ready: false }))).toBe(true);
    expect(
      isModelNotReady(
        outcome(503, {
          statusCode: 503,
          error: 'SERVICE_UNAVAILABLE',
          message: `no model is being served yet: ${noChampion("'")}`,
        }),
      ),
    ).toBe(true);
    // Seeds 1011 and 1012: a model whose champion the fuzzing had just set, asked for before the gateway loaded it.
    expect(
      isModelNotReady(outcome(503, { error: "model 'iris' is not loaded: no champion loaded yet" })),
    ).toBe(true);
    expect(
      isModelNotReady(
        outcome(503, {
          error: 'SERVICE_UNAVAILABLE',
          message: "the dataset of model 'unknown' is not known yet: no champion loaded yet",
        }),
      ),
    ).toBe(true);
  });

  it('counts any other 5xx as a failure', () => {
    expect(isModelNotReady(outcome(503, { error: 'cannot look up x v1 in the registry: timeout' }))).toBe(
      false,
    );
    expect(isModelNotReady(outcome(500, { message: 'has no champion for x' }))).toBe(false);
    expect(isModelNotReady(outcome(503, { message: 'has no champion for x' }, 'registry'))).toBe(false);
    expect(isModelNotReady(outcome(503, { name: 'x', ready: false, extra: 1 }))).toBe(false);
    expect(
      isModelNotReady({ status: 503, text: 'has no champion for x', request: { app: 'inference' } }),
    ).toBe(false);
  });
});

describe('fuzzing every app of the embedded stack', () => {
  let stack: FuzzStack;
  let routes: Route[] = [];

  beforeAll(async () => {
    stack = await startFuzzStack();
    routes = [...stack.apps].flatMap(([name, app]) => routesOf(name, app));
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('finds every route of every app, and knows the contract of each', () => {
    const apps = new Set(routes.map((r) => r.app));
    expect([...apps].sort()).toEqual(['data', 'inference', 'registry', 'trainer']);
    const generic = routes.filter((route) => specOf(route) === undefined).map(routeKey);
    // A new route is fuzzed anyway (generic input); listing its schemas in routes.ts makes the fuzzing sharper.
    if (generic.length)
      console.warn(`fuzzing with generic input (no schema in test/fuzz/routes.ts): ${generic.join(', ')}`);
    expect(routes.length).toBeGreaterThan(40);
  });

  it('answers every kept regression example with the 4xx it deserves', async () => {
    const examples = regressions(stack.world);
    const outcomes: Outcome[] = [];
    await runAll(stack, examples, (o) => outcomes.push(o));
    const wrong = outcomes.filter((o) => o.status !== (o.request as (typeof examples)[number]).status);
    expect(wrong.map(show)).toEqual([]);
    // Each 400 says what was wrong.
    for (const o of outcomes.filter((x) => x.status === 400))
      expect(JSON.parse(o.text).message).toMatch(/\w+/);
  });

  // The seed is in the title, so any failure (a timeout too) says how to replay it.
  // Seed 1014: between the swap of a new champion and the lookup of its dataset, feedback for it was refused with a
  // 503 saying the registry had no lineage. A sequence, not one request, so it is here rather than in regressions.ts.
  it('takes feedback for a model as soon as its champion serves', async () => {
    const name = 'fuzz-feedback-race';
    const [run] = stack.world.runIds;
    const registered = await stack.call('registry', 'POST', `/models/${name}/versions`, {
      runId: run,
      sha256: stack.world.modelSha256,
    });
    expect(registered.status).toBe(201);
    const version = registered.json().version;
    expect(
      (await stack.call('registry', 'PUT', `/models/${name}/aliases/champion`, { version })).status,
    ).toBe(200);
    const feedback = { features: stack.world.features.map(() => 5), label: stack.world.labels[0] };
    const answers: string[] = [];
    // Back to back (the window was one registry round trip), for as long as a loaded machine may take to load it.
    let accepted = false;
    for (const until = Date.now() + 20_000; !accepted && Date.now() < until;) {
      const answer = await stack.call('inference', 'POST', `/feedback/${name}`, feedback);
      accepted = answer.status === 202;
      if (!accepted) answers.push(`${answer.status} ${answer.text}`);
    }
    // Until the gateway has it: 404 (not known yet) or the not-ready 503; never a served model without its dataset.
    expect(answers.filter((a) => !/^404 |no champion loaded yet|has no champion for/.test(a))).toEqual([]);
    expect(accepted).toBe(true);
  }, 30_000);

  it(`answers ${COUNT} generated requests (seed ${SEED}) below 500, stays healthy and writes nothing it refused`, async () => {
    const before = await snapshot(stack);
    const generating = Date.now();
    // Every route equally likely; each route's arbitrary is built once.
    const fuzzed = ONLY ? routes.filter((route) => ONLY.test(routeKey(route))) : routes;
    expect(fuzzed.length).toBeGreaterThan(0);
    const requests = fc.sample(fc.oneof(...fuzzed.map((route) => requestArbitrary(route, stack.world))), {
      numRuns: COUNT,
      seed: SEED,
    });

    const sending = Date.now();
    const failures: Outcome[] = [];
    const statuses = new Map<number, number>();
    const created = new Map<string, number>();
    const aliasMoves = new Map<string, Set<number>>();
    let acceptedMoves = 0;
    await runAll(stack, requests, (o) => {
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      if (o.status >= 500 && !isModelNotReady(o)) failures.push(o);
      if (o.status >= 300) return;
      const { app, method } = o.request;
      const segments = segmentsOf(o.request.url);
      // What an accepted write may have changed: the suite expects exactly that much change, nothing more.
      if (app === 'data' && method === 'POST' && (segments[2] === 'import' || segments[3] === 'commit')) {
        if (o.text.includes('"created":true')) created.set(segments[1], (created.get(segments[1]) ?? 0) + 1);
      }
      if (
        app === 'registry' &&
        method === 'PUT' &&
        segments[0] === 'models' &&
        segments[1] === stack.world.modelName &&
        segments[2] === 'aliases'
      ) {
        acceptedMoves++;
        const moves = aliasMoves.get(segments[3]) ?? new Set<number>();
        moves.add(Number((JSON.parse(o.text) as { version: number }).version));
        aliasMoves.set(segments[3], moves);
      }
    });
    const seconds = (Date.now() - sending) / 1000;
    console.log(
      `fuzz: ${requests.length} requests over ${fuzzed.length} routes (seed ${SEED}), generated in ${
        (sending - generating) / 1000
      } s, sent in ${seconds} s (${Math.round(requests.length / seconds)}/s, ${resent} resent after a lost connection); statuses ${JSON.stringify(
        Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      )}`,
    );
    expect(failures.slice(0, 20).map(show)).toEqual([]);

    // Every app is still healthy and still serves.
    for (const [name, url] of stack.urls) {
      const ready = await fetch(`${url}/health/ready`);
      expect([name, ready.status]).toEqual([name, 200]);
    }
    const features = Object.fromEntries(stack.world.features.map((f) => [f, 5]));
    expect((await stack.call('inference', 'POST', '/predict', { features })).status).toBe(200);

    // Nothing half-written: versions only where an import or commit said it created one; alias moves only where a
    // PUT was accepted, each with its audit entry.
    const after = await snapshot(stack);
    for (const [dataset, count] of after.versions) {
      expect([dataset, count]).toEqual([
        dataset,
        (before.versions.get(dataset) ?? 0) + (created.get(dataset) ?? 0),
      ]);
    }
    expect(after.auditEntries).toBe(before.auditEntries + acceptedMoves);
    for (const [alias, version] of after.aliases) {
      const moves = aliasMoves.get(alias);
      if (moves) expect(moves).toContain(version);
      else expect([alias, version]).toEqual([alias, before.aliases.get(alias)]);
    }
  }, 600_000);
});
