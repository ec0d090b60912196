/** The registry's runs on real services and on the embedded adapters: metrics, training events and search. */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { EventNames } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { waitFor } from '@sepal/testing';
import { DATASET_VERSION, registryForTests } from './registry-harness';

jest.setTimeout(30_000);

describe.each(['real services', 'embedded adapters'] as const)('registry on %s', (mode) => {
  const registry = registryForTests(mode);
  const { http, newRun } = registry;
  let namespace: string;
  let appBus: EventBus;
  let testBus: EventBus;
  beforeAll(() => {
    ({ namespace, appBus, testBus } = registry);
  });

  it('round-trips a run with 50 metric steps, and refuses bad metric values and unknown runs', async () => {
    const run = await newRun({
      name: 'mlp',
      params: { learning_rate: 0.01, epochs: 50 },
      tags: { reason: 'manual' },
    });
    const points = Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step }));
    const logged = await http('POST', `/runs/${run.id}/metrics`, { metrics: points });
    expect(logged.statusCode).toBe(201);

    const history = (await http('GET', `/runs/${run.id}/metrics/loss`)).json();
    expect(history).toHaveLength(50);
    expect(history.map((p: { step: number }) => p.step)).toEqual(points.map((p) => p.step));
    expect(history.map((p: { value: number }) => p.value)).toEqual(points.map((p) => p.value));

    const finished = await http('PATCH', `/runs/${run.id}`, { status: 'finished', tags: { note: 'ok' } });
    expect(finished.statusCode).toBe(200);
    const shown = (await http('GET', `/runs/${run.id}`)).json();
    expect(shown).toMatchObject({
      experiment: 'iris',
      status: 'finished',
      params: { learning_rate: 0.01, epochs: 50 },
      tags: { reason: 'manual', note: 'ok' },
      metrics: { loss: 1 / 50 },
      childrenCount: 0,
    });
    expect(shown.endTime).not.toBeNull();

    for (const value of ['0.5', null, 'NaN', { x: 1 }]) {
      const bad = await http('POST', `/runs/${run.id}/metrics`, {
        metrics: [{ key: 'loss', value, step: 99 }],
      });
      expect(bad.statusCode).toBe(400);
    }
    expect((await http('GET', `/runs/${run.id}/metrics/loss`)).json()).toHaveLength(50);

    const unknown = randomUUID();
    expect((await http('GET', `/runs/${unknown}`)).statusCode).toBe(404);
    expect((await http('POST', `/runs/${unknown}/metrics`, { metrics: points.slice(0, 1) })).statusCode).toBe(
      404,
    );
    expect((await http('GET', '/experiments/nope')).statusCode).toBe(404);
    expect((await http('POST', '/experiments', { name: 'iris' })).statusCode).toBe(409);
    expect((await http('POST', '/runs', { experiment: 'iris', parentRunId: unknown })).statusCode).toBe(404);
  });

  it('creates a run idempotently with a client-chosen id', async () => {
    const runId = randomUUID();
    const first = await http('POST', '/runs', { experiment: 'idempotent', runId, params: { a: 1 } });
    const again = await http('POST', '/runs', { experiment: 'idempotent', runId, params: { a: 2 } });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json().params).toEqual({ a: 1 });
  });

  it('applies training events in any order and idempotently, with nothing retried or dead-lettered', async () => {
    const parentRunId = randomUUID();
    const runId = randomUUID();
    const startedAt = new Date().toISOString();
    const started = (id: string, parent: string | null) => ({
      runId: id,
      parentRunId: parent,
      experiment: 'events',
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
      params: { units: 8 },
      backend: 'cpu',
      startedAt,
    });
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    try {
      // The reverse of the order a trainer publishes in: the run's end, its progress, the trial's start, the sweep's.
      await testBus.publish(EventNames.RunFinished, {
        runId,
        status: 'finished',
        metrics: { accuracy: 0.97 },
        tags: { selected: 'true' },
        endedAt: new Date().toISOString(),
      });
      for (let step = 3; step >= 1; step--) {
        const messageId = `progress-${namespace}-${step}`;
        const payload = { runId, step, metrics: { loss: 1 / step }, timestamp: new Date().toISOString() };
        await testBus.publish(EventNames.TrainingProgress, payload, { messageId });
        await testBus.publish(EventNames.TrainingProgress, payload, { messageId }); // a redelivery
      }
      await testBus.publish(EventNames.TrainingStarted, started(runId, parentRunId), {
        correlationId: 'corr-1',
      });
      await testBus.publish(EventNames.TrainingStarted, started(parentRunId, null));
      await waitFor(async () => (await http('GET', `/runs/${runId}`)).json().status === 'finished', {
        timeoutMs: 10_000,
      });
      await waitFor(async () => (await http('GET', `/runs/${parentRunId}`)).statusCode === 200, {
        timeoutMs: 10_000,
      });
      const run = (await http('GET', `/runs/${runId}`)).json();
      expect(run).toMatchObject({
        parentRunId,
        dataset: 'iris',
        datasetVersion: DATASET_VERSION,
        backend: 'cpu',
        correlationId: 'corr-1',
        tags: { selected: 'true' },
        metrics: { accuracy: 0.97, loss: 1 / 3 },
      });
      expect((await http('GET', `/runs/${runId}/metrics/loss`)).json()).toHaveLength(3);
      expect((await http('GET', `/runs/${parentRunId}`)).json().childrenCount).toBe(1);
      expect(await appBus.deadLetterCount('registry.training')).toBe(0);
      expect(warnings.mock.calls.filter(([message]) => /registry\.training/.test(String(message)))).toEqual(
        [],
      );
    } finally {
      warnings.mockRestore();
    }
  });

  it('dead-letters a training.started with more tags than REGISTRY_MAX_TAGS, with the reason, and makes no run', async () => {
    const runId = randomUUID();
    const experiment = `over-limit-${namespace}`;
    const tags = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
    const messageId = await testBus.publish(EventNames.TrainingStarted, {
      runId,
      parentRunId: null,
      experiment,
      dataset: 'iris',
      datasetVersion: DATASET_VERSION,
      params: { units: 8 },
      tags,
      backend: 'cpu',
      startedAt: new Date().toISOString(),
    });
    await waitFor(async () => (await appBus.deadLetterCount('registry.training')) === 1, {
      timeoutMs: 10_000,
    });
    const [deadLetter] = await appBus.deadLetters('registry.training');
    expect(deadLetter.envelope?.messageId).toBe(messageId);
    expect(deadLetter.error).toContain('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)');
    // Refused on its first delivery (permanent), and nothing of it written: no run, no experiment.
    expect(deadLetter.attempts).toBe(1);
    expect((await http('GET', `/runs/${runId}`)).statusCode).toBe(404);
    expect((await http('GET', `/experiments/${experiment}`)).statusCode).toBe(404);
  });

  it('searches runs with filters, ordering and paging, and rejects a malformed filter with its position', async () => {
    const experiment = 'search';
    const specs = [
      { lr: '0.01', reason: 'feedback', accuracy: 0.95, f1: 0.91 },
      { lr: '0.01', reason: 'feedback', accuracy: 0.93, f1: 0.94 },
      { lr: '0.1', reason: 'feedback', accuracy: 0.96, f1: 0.97 },
      { lr: '0.01', reason: 'manual', accuracy: 0.99, f1: 0.99 },
      { lr: '0.01', reason: 'feedback', accuracy: 0.8, f1: 0.85 },
    ];
    const ids: string[] = [];
    for (const [i, s] of specs.entries()) {
      const run = await newRun({
        experiment,
        name: `r${i}`,
        params: { learning_rate: s.lr },
        tags: { reason: s.reason },
      });
      await http('POST', `/runs/${run.id}/metrics`, {
        metrics: [
          { key: 'accuracy', value: 0.5, step: 0 },
          { key: 'accuracy', value: s.accuracy, step: 1 },
          { key: 'f1', value: s.f1, step: 1 },
        ],
      });
      ids.push(run.id);
    }
    const search = (params: Record<string, string>) =>
      http('GET', `/runs?${new URLSearchParams({ experiment, ...params })}`);
    const filter = "metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'";
    const found = (await search({ filter, orderBy: 'metrics.f1 DESC' })).json();
    expect(found.runs.map((r: { id: string }) => r.id)).toEqual([ids[1], ids[0]]);
    expect(found.nextPageToken).toBeNull();

    const firstPage = (await search({ orderBy: 'metrics.accuracy DESC', limit: '2' })).json();
    expect(firstPage.runs.map((r: { id: string }) => r.id)).toEqual([ids[3], ids[2]]);
    const rest = (
      await search({ orderBy: 'metrics.accuracy DESC', limit: '2', pageToken: firstPage.nextPageToken })
    ).json();
    expect(rest.runs.map((r: { id: string }) => r.id)).toEqual([ids[0], ids[1]]);
    const last = (
      await search({ orderBy: 'metrics.accuracy DESC', limit: '2', pageToken: rest.nextPageToken })
    ).json();
    expect(last).toEqual({ runs: [expect.objectContaining({ id: ids[4] })], nextPageToken: null });

    const malformed = await search({ filter: 'metrics.accuracy > AND tags.x = 1' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/malformed filter: .* at character 19$/);
    expect(malformed.json().details.position).toBe(19);
    const injection = await search({ filter: "tags.reason = 'x'' OR 1=1; --'" });
    expect(injection.statusCode).toBe(200);
    expect(injection.json().runs).toEqual([]);
    expect((await search({ orderBy: 'metrics.f1 SIDEWAYS' })).statusCode).toBe(400);
  });

  it('answers 400 naming the comparison for an ill-typed filter of each kind of key, never a 500', async () => {
    const search = (filter: string) => http('GET', `/runs?${new URLSearchParams({ filter })}`);
    const illTyped: [string, { key: string; operator: string; value: string }, RegExp][] = [
      ['attributes.status = 1', { key: 'attributes.status', operator: '=', value: '1' }, /quote the value/],
      [
        "status IN ('finished', 'done')",
        { key: 'status', operator: 'IN', value: "('finished', 'done')" },
        /'done' is not a run status/,
      ],
      ['run_name = 7', { key: 'run_name', operator: '=', value: '7' }, /run_name is text/],
      [
        "attributes.dataset < 'iris'",
        { key: 'attributes.dataset', operator: '<', value: "'iris'" },
        /does not apply/,
      ],
      [
        "start_time > 'yesterday'",
        { key: 'start_time', operator: '>', value: "'yesterday'" },
        /not a timestamp/,
      ],
      ['end_time < 1e20', { key: 'end_time', operator: '<', value: '1e20' }, /not a timestamp/],
      ["metrics.accuracy = 'high'", { key: 'metrics.accuracy', operator: '=', value: "'high'" }, /numbers/],
      [
        "params.learning_rate < '0.1'",
        { key: 'params.learning_rate', operator: '<', value: "'0.1'" },
        /unquoted/,
      ],
      ['tags.reason = 1', { key: 'tags.reason', operator: '=', value: '1' }, /tag 'reason' is text/],
    ];
    for (const [filter, comparison, why] of illTyped) {
      const response = await search(filter);
      expect({ filter, status: response.statusCode }).toEqual({ filter, status: 400 });
      const body = response.json();
      expect(body.message.startsWith(`ill-typed filter: ${filter}: `)).toBe(true);
      expect(body.message).toMatch(why);
      expect(body.details).toMatchObject({ input: filter, ...comparison });
    }
    const nul = await search("tags.reason = 'a\0'");
    expect(nul.statusCode).toBe(400);
    // Refused before the filter parser, like a NUL anywhere in any request (libs/http refuse-unstorable-characters).
    expect(nul.json().message).toMatch(/^query\.filter contains a NUL character/);
  });

  it('runs well-typed filters on every kind of key: IN lists, numeric params, timestamps', async () => {
    const experiment = 'typed';
    const since = Date.now() - 1000;
    const a = await newRun({
      experiment,
      name: 'typed-a',
      params: { epochs: 10 },
      tags: { reason: 'feedback' },
    });
    const b = await newRun({
      experiment,
      name: 'typed-b',
      params: { epochs: 5 },
      tags: { reason: 'manual' },
    });
    await http('POST', `/runs/${a.id}/metrics`, { metrics: [{ key: 'f1', value: 0.7, step: 1 }] });
    await http('POST', `/runs/${b.id}/metrics`, { metrics: [{ key: 'f1', value: 0.6, step: 1 }] });
    await http('PATCH', `/runs/${a.id}`, { status: 'finished' });
    const ids = async (filter: string, orderBy = 'start_time ASC') => {
      const response = await http('GET', `/runs?${new URLSearchParams({ experiment, filter, orderBy })}`);
      expect({ filter, status: response.statusCode }).toEqual({ filter, status: 200 });
      return response.json().runs.map((r: { id: string }) => r.id);
    };
    expect(await ids("status IN ('finished', 'failed')")).toEqual([a.id]);
    expect(await ids("status NOT IN ('finished')")).toEqual([b.id]);
    expect(await ids('params.epochs >= 10')).toEqual([a.id]);
    expect(await ids("params.epochs = '5'")).toEqual([b.id]);
    expect(await ids("tags.reason NOT IN ('manual')")).toEqual([a.id]);
    expect(await ids('metrics.f1 IN (0.6, 0.9)')).toEqual([b.id]);
    expect(await ids(`run_name LIKE 'typed-%' AND start_time >= ${since}`)).toEqual([a.id, b.id]);
    expect(await ids(`start_time >= '${new Date(since).toISOString()}'`, 'run_name DESC')).toEqual([
      b.id,
      a.id,
    ]);
    expect(await ids("end_time < '2000-01-01'")).toEqual([]);
  });
});
