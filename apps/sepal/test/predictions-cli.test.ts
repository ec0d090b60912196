import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { EventNames, groupLoggedPredictions } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestBus, uniqueNamespace, waitFor } from '@sepal/testing';
import { ExitCode } from '../src/cli';
import { runCliCaptured as sepal } from './support/captured-cli';
import { startCliDataApp } from './support/cli-services';

/* `sepal predictions ls|export` against a data service (embedded adapters) holding logged predictions. */
describe('sepal predictions', () => {
  let data: INestApplication;
  const saved = { ...process.env };
  const ids = [randomUUID(), randomUUID()];
  let gateway: EventBus | undefined;

  beforeAll(async () => {
    const namespace = uniqueNamespace('clipred');
    data = await startCliDataApp(namespace, { DATA_DIR: join(__dirname, '../../../data') });
    const at = new Date().toISOString();
    // Published as the gateway would (the data app's own bus may not publish the gateway's event: EVENT_OWNERS).
    gateway = createTestBus(namespace);
    await gateway.publish(
      EventNames.PredictionsLogged,
      groupLoggedPredictions(
        ids.map((predictionId, i) => ({
          predictionId,
          model: 'CliModel',
          version: i + 1,
          sha256: 'c'.repeat(64),
          inputs: { a: i, b: 'x,y' },
          output: { class: 'yes', probabilities: { yes: 0.9, no: 0.1 } },
          latencyMs: 1.25,
          keyName: 'cli',
          at,
        })),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await data?.close();
    await closeEmbeddedDatabases();
    process.env = saved;
  });

  it('lists logged predictions as JSON for scripts and as a table for people, by version', async () => {
    await waitFor(
      async () =>
        JSON.parse((await sepal(['--json', 'predictions', 'ls', 'CliModel'])).out).items.length === 2,
      {
        timeoutMs: 10_000,
        description: 'two logged predictions',
      },
    );
    const v2 = JSON.parse((await sepal(['--json', 'predictions', 'ls', 'CliModel', '--version', '2'])).out);
    expect(v2.items.map((e: { predictionId: string }) => e.predictionId)).toEqual([ids[1]]);
    const table = await sepal(['predictions', 'ls', 'CliModel', '-n', '1']);
    expect(table.code).toBe(ExitCode.ok);
    expect(table.out).toMatch(/^PREDICTION\s+TIME\s+VERSION\s+ANSWER/m);
    expect(table.out).toMatch(/next page: --after [0-9a-f-]{36}/);
  });

  it('exports them as CSV, a cell with a comma quoted', async () => {
    const exported = await sepal(['predictions', 'export', 'CliModel']);
    expect(exported.code).toBe(ExitCode.ok);
    const lines = exported.out.trim().split('\n');
    expect(lines[0]).toBe('prediction_id,at,model,version,sha256,key_name,latency_ms,a,b,prediction,label');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(',"x,y",yes,');
  });

  it('exports logged predictions into a new dataset version with --to-dataset, labelled ones only unless asked', async () => {
    const base = process.env.SEPAL_DATA_URL!;
    const imported = await fetch(`${base}/datasets/iris/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: '{}',
    });
    expect(imported.status).toBe(201);
    const irisIds = [randomUUID(), randomUUID()];
    await gateway!.publish(
      EventNames.PredictionsLogged,
      groupLoggedPredictions(
        irisIds.map((predictionId) => ({
          predictionId,
          model: 'CliIris',
          version: 1,
          sha256: 'd'.repeat(64),
          inputs: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
          output: { class: 'Iris-setosa', probabilities: { 'Iris-setosa': 1 } },
          latencyMs: 1,
          keyName: 'cli',
          at: new Date().toISOString(),
        })),
      ),
    );
    await waitFor(
      async () =>
        JSON.parse((await sepal(['--json', 'predictions', 'ls', 'CliIris'])).out).items.length === 2,
      { timeoutMs: 10_000, description: 'two logged Iris predictions' },
    );
    // No label has joined them: the default (labelled only) has nothing to export, and says why.
    const none = await sepal(['predictions', 'export', 'CliIris', '--version', '1', '--to-dataset', 'iris']);
    expect(none.code).toBe(ExitCode.failed);
    expect(none.err).toMatch(/2 without a label, 0 already in the dataset/);
    expect(none.err).toMatch(/labels=predicted/);
    const done = await sepal([
      'predictions',
      'export',
      'CliIris',
      '--to-dataset',
      'iris',
      '--labels',
      'predicted',
    ]);
    expect(done.code).toBe(ExitCode.ok);
    expect(done.out).toMatch(
      /^Exported 2 of 2 logged prediction\(s\) into iris v2 [0-9a-f]{64} \(0 labelled, 2 with the model's answer\)/,
    );
    expect(done.out).toMatch(
      /skipped: 0 without a label, 0 already in the dataset, 0 not fitting its schema/,
    );
  });

  it('exits 1 with the service message for a limit over the maximum', async () => {
    const over = await sepal(['predictions', 'ls', 'CliModel', '-n', '5000']);
    expect(over.code).toBe(ExitCode.failed);
    expect(over.err).toMatch(/limit/);
  });
});
