import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { createTestBus, waitFor } from '@sepal/testing';
import { DATA_TEST_MODES, DataTestApp, SHIPPED_DATA_DIR, startDataTestApp } from './support/data-test-app';

const irisText = readFileSync(join(SHIPPED_DATA_DIR, 'iris/iris.data'), 'utf8');

describe.each(DATA_TEST_MODES)('data service on %s', (mode) => {
  let data: DataTestApp;
  let app: NestFastifyApplication;
  let namespace: string;
  let bus: EventBus;
  let subscription: Subscription;
  const versioned: EventEnvelope[] = [];

  const http = (method: 'GET' | 'POST', url: string, payload?: unknown) => data.http(method, url, payload);

  const csv = (url: string, body: string | Buffer) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url,
        payload: body,
        headers: { 'content-type': 'text/csv', 'x-sepal-client': '1' },
      });

  beforeAll(async () => {
    data = await startDataTestApp(mode, 'data', { DATA_DIR: SHIPPED_DATA_DIR });
    ({ app, namespace } = data);
    bus = createTestBus(namespace, data.amqpUrl); // feedback as the gateway sends it
    subscription = await bus.subscribe(
      { queue: 'test.versioned-observer', patterns: [EventNames.DatasetVersioned] },
      async (envelope) => {
        versioned.push(envelope);
      },
    );
  }, 60_000);

  afterAll(async () => {
    await subscription?.close();
    await bus?.close();
    await data?.close(['data.feedback', 'test.versioned-observer']);
  });

  let firstVersion: string;

  it('is ready once its database and broker answer', async () => {
    const response = await http('GET', '/health/ready');
    expect(response.statusCode).toBe(200);
    expect(response.json().checks).toEqual({ database: { status: 'up' }, broker: { status: 'up' } });
  });

  it('imports the shipped Iris file with both corrections, the label map and an exact 40/10 split per class', async () => {
    const response = await http('POST', '/datasets/iris/import', {});
    expect(response.statusCode).toBe(201);
    const { created, version } = response.json();
    expect(created).toBe(true);
    expect(version.rowCount).toBe(150);
    expect(version.parentId).toBeNull();
    expect(version.schema.labels).toEqual(['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']);
    expect(version.cleaningRules.map((r: { id: string }) => r.id)).toEqual([
      'uci-iris-erratum-35',
      'uci-iris-erratum-38',
    ]);
    for (const label of version.schema.labels) {
      expect(version.classCounts.train[label]).toBe(40);
      expect(version.classCounts.test[label]).toBe(10);
    }
    firstVersion = version.id;
    const rows = await http('GET', `/datasets/iris/versions/latest/rows?limit=40`);
    const page = rows.json();
    expect(page.features[34]).toEqual([4.9, 3.1, 1.5, 0.2]);
    expect(page.features[37]).toEqual([4.9, 3.6, 1.4, 0.1]);
    expect(page.features).toHaveLength(40);
    expect(page.nextCursor).toEqual(expect.any(Number));
  });

  it('returns the existing version when the same file is imported again', async () => {
    const response = await csv('/datasets/iris/import', irisText);
    expect(response.statusCode).toBe(200);
    expect(response.json().version.id).toBe(firstVersion);
    expect((await http('GET', '/datasets/iris/versions')).json()).toHaveLength(1);
  });

  it('writes nothing for a malformed file and names the line and the problem', async () => {
    const broken = irisText.replace('4.6,3.1,1.5,0.2,Iris-setosa', '4.6,3.1,abc,0.2,Iris-setosa');
    const response = await csv('/datasets/iris/import', broken);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/^line 4: column 'petal_length': 'abc' is not a number/);
    const empty = await csv('/datasets/iris/import', '');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/empty/);
    expect((await http('GET', '/datasets/iris/versions')).json()).toHaveLength(1);
  });

  it('commits feedback into a child version whose parent and counts are right and whose old rows kept their split', async () => {
    const samples = [
      {
        features: { sepal_length: 5.0, sepal_width: 3.4, petal_length: 1.5, petal_width: 0.2 },
        label: 'Iris-setosa',
      },
      { features: [6.1, 2.9, 4.7, 1.4], label: 'Iris-versicolor' },
      { features: [6.5, 3.0, 5.5, 1.8], label: 'Iris-virginica' },
      { features: [40, 3.0, 5.5, 1.8], label: 'Iris-virginica' },
    ];
    for (const sample of samples) {
      const response = await http('POST', '/datasets/iris/feedback', sample);
      expect(response.statusCode).toBe(202);
    }
    const flagged = (await http('GET', '/datasets/iris/feedback?state=pending')).json();
    expect(flagged).toHaveLength(4);
    expect(flagged.find((f: { features: number[] }) => f.features[0] === 40).flags[0]).toMatch(
      /sepal_length=40 is far outside/,
    );

    const commit = await http('POST', '/datasets/iris/feedback/commit');
    expect(commit.statusCode).toBe(201);
    const child = commit.json().version;
    expect(child.parentId).toBe(firstVersion);
    expect(child.rowCount).toBe(154);
    expect(child.reason).toBe('feedback');
    expect(child.classCounts.train['Iris-virginica'] + child.classCounts.test['Iris-virginica']).toBe(52);

    const diff = (
      await http('GET', `/datasets/iris/diff?from=${firstVersion.slice(0, 10)}&to=latest`)
    ).json();
    expect(diff.rowsAdded).toBe(4);
    expect(diff.rowsRemoved).toBe(0);
    expect(diff.rowsMovedBetweenSplits).toBe(0);

    const again = await http('POST', '/datasets/iris/feedback/commit');
    expect(again.statusCode).toBe(422);
    expect(again.json().message).toMatch(/no pending feedback/);
  });

  it('rejects feedback with an unknown class or missing feature with 422 and stores nothing', async () => {
    const unknown = await http('POST', '/datasets/iris/feedback', {
      features: [1, 2, 3, 4],
      label: 'Iris-nope',
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().message).toBe("unknown class 'Iris-nope'");
    const missing = await http('POST', '/datasets/iris/feedback', {
      features: { sepal_length: 1 },
      label: 'Iris-setosa',
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().message).toMatch(/missing feature\(s\): sepal_width, petal_length, petal_width/);
    const notFinite = await http('POST', '/datasets/iris/feedback', {
      features: [1, 2, 3, 'x'],
      label: 'Iris-setosa',
    });
    expect(notFinite.statusCode).toBe(422);
    expect(notFinite.json().message).toMatch(
      /feature 'petal_width' is numeric in the dataset schema; "x" is not a number/,
    );
    expect((await http('GET', '/datasets/iris/feedback?state=pending')).json()).toHaveLength(0);
  });

  it('emits dataset.versioned exactly once per version', async () => {
    await waitFor(() => versioned.length >= 2, { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const versions = (await http('GET', '/datasets/iris/versions')).json().map((v: { id: string }) => v.id);
    expect(versioned.map((e) => (e.payload as { version: string }).version)).toEqual(versions);
    expect(new Set(versioned.map((e) => e.messageId)).size).toBe(versioned.length);
  });

  it('stores a valid feedback.received event once even if delivered twice, and dead-letters an invalid one', async () => {
    const payload = {
      dataset: 'iris',
      features: [5.9, 3.0, 5.1, 1.8],
      label: 'Iris-virginica',
      source: 'gateway',
    };
    await bus.publish(EventNames.FeedbackReceived, payload, { messageId: `fb-${namespace}` });
    await bus.publish(EventNames.FeedbackReceived, payload, { messageId: `fb-${namespace}` });
    await bus.publish(EventNames.FeedbackReceived, { ...payload, label: 'Iris-unknown' });
    await waitFor(async () => (await bus.deadLetterCount('data.feedback')) === 1, { timeoutMs: 15_000 });
    const [dead] = await bus.deadLetters('data.feedback');
    expect(dead.error).toMatch(/unknown class 'Iris-unknown'/);
    const pending = (await http('GET', '/datasets/iris/feedback?state=pending')).json();
    expect(pending).toHaveLength(1);
    expect(pending[0].source).toBe('gateway');
  });

  it('exports a split as CSV with a header and class names', async () => {
    const response = await http('GET', '/datasets/iris/versions/v1/export.csv?split=test');
    expect(response.statusCode).toBe(200);
    const lines = response.body.trim().split('\n');
    expect(lines[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species,split');
    expect(lines).toHaveLength(31);
    expect(lines.slice(1).every((line) => line.endsWith(',test'))).toBe(true);
  });
});
