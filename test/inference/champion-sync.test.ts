/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { IRIS_RUN_ID, irisOnnx, PublishedVersion, startTestGateway, TestRegistry } from './fixtures';

const MODEL = 'IrisModel';

/*
 * A model.promoted the gateway never hears (here: the registry publishes in another namespace, as if the broadcast
 * was lost while the gateway's connection was down) is caught up by the periodic check of the registry's champion.
 */
describe('the gateway catches up with a champion whose model.promoted it missed', () => {
  let app: NestFastifyApplication;
  let registry: TestRegistry;
  const versions: PublishedVersion[] = [];

  const served = async () =>
    (
      await app
        .getHttpAdapter()
        .getInstance()
        .inject({ method: 'POST', url: '/predict', payload: { features: [5.1, 3.5, 1.4, 0.2] } })
    ).json().model?.version;

  beforeAll(async () => {
    registry = await new TestRegistry().start({ namespace: uniqueNamespace('sync_registry') });
    await registry.createRun(IRIS_RUN_ID);
    versions.push(await registry.register(MODEL, irisOnnx({ shift: 0 }), IRIS_RUN_ID));
    versions.push(await registry.register(MODEL, irisOnnx({ shift: 0.5 }), IRIS_RUN_ID));
    await registry.promote(MODEL, versions[0].version);
    app = await startTestGateway(
      registry.url,
      { namespace: uniqueNamespace('sync_gateway') },
      {
        MODEL_SYNC_INTERVAL_MS: '200',
      },
    );
    await waitFor(async () => (await served()) === 1, { timeoutMs: 10_000, description: 'v1 served' });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await registry?.stop();
    await closeEmbeddedDatabases();
  });

  it('loads the registry champion within a few sync intervals, with no event', async () => {
    await registry.promote(MODEL, versions[1].version);
    await waitFor(async () => (await served()) === 2, {
      timeoutMs: 5000,
      description: 'the gateway to catch up with v2',
    });
    const metrics = (await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/metrics' }))
      .body;
    expect(metrics).toMatch(/sepal_model_reloads_total\{result="success"\} 2/);
  });
});
