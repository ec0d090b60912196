/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventNames } from '@sepal/contracts';
import { ServiceClient } from '@sepal/http-client';
import { EventBus } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import {
  createTestDatabase,
  deleteNamespace,
  onnxModelUsing,
  TestDatabase,
  uniqueNamespace,
  waitFor,
} from '@sepal/testing';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { AMQP_URL, IRIS_DATASET_VERSION, IRIS_RUN_ID, irisOnnx, sha256 } from '../inference/fixtures';
import {
  AttackerHost,
  forgedPromotion,
  forgedRegistration,
  forgedTraffic,
  keyedCall,
  startAttackerHost,
} from './forgeries';

jest.setTimeout(90_000);

const MODEL = 'IrisModel';
const QUEUES = ['registry.training', 'registry.jobs'];

/*
 * An attacker holding a broker login, on the real PostgreSQL and RabbitMQ with keys on: the events it forges name
 * another artifact on its own host, and the gateway must keep serving the registry's champion, send nothing to that
 * host (least of all its key), and still follow the registry's next real promotion. The registry refuses model files
 * that are not checked ONNX models.
 */
describe('forged events and unchecked models (real services, keys on)', () => {
  const adminKey = randomBytes(24).toString('hex');
  const namespace = uniqueNamespace('security');
  let db: TestDatabase;
  let modelsDir: string;
  let registry: NestFastifyApplication;
  let gateway: NestFastifyApplication;
  let registryUrl: string;
  /** The attacker's host: every request it receives is recorded (there must be none). */
  let foreign: AttackerHost;
  let foreignUrl: string;
  let foreignRequests: AttackerHost['requests'] = [];

  const registryCall = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    keyedCall(`${registryUrl}${path}`, method, adminKey, body, headers);
  const upload = (bytes: Uint8Array) =>
    registryCall('POST', '/artifacts', bytes, { 'x-content-sha256': sha256(bytes) });
  const register = async (bytes: Uint8Array) => {
    expect((await upload(bytes)).status).toBeLessThan(300);
    const version = await registryCall('POST', `/models/${MODEL}/versions`, {
      runId: IRIS_RUN_ID,
      sha256: sha256(bytes),
    });
    expect(version.status).toBe(201);
    return { version: version.json.version as number, sha256: sha256(bytes) };
  };
  const promote = async (version: number) =>
    expect((await registryCall('PUT', `/models/${MODEL}/aliases/champion`, { version })).status).toBe(200);

  const gatewayCall = (method: 'GET' | 'POST', url: string, payload?: object) =>
    gateway
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload, headers: { 'x-api-key': adminKey } });
  const served = async () =>
    (await gatewayCall('POST', '/predict', { features: [5.1, 3.5, 1.4, 0.2] })).json().model;
  const reloads = async (result: string) => {
    const metrics = (await gatewayCall('GET', '/metrics')).body;
    return Number(
      new RegExp(`sepal_model_reloads_total\\{result="${result}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0,
    );
  };

  beforeAll(async () => {
    foreign = await startAttackerHost(irisOnnx({ shift: 9 }));
    foreignUrl = foreign.url;
    foreignRequests = foreign.requests;

    db = await createTestDatabase('sepal_security');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-security-'));
    const env = {
      DATABASE_URL: db.url,
      AMQP_URL,
      SEPAL_NAMESPACE: namespace,
      SEPAL_API_KEY: adminKey,
      MODELS_DIR: modelsDir,
      LOG_LEVEL: 'error',
      REGISTRY_HOST: '127.0.0.1',
      REGISTRY_PORT: '0',
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
    };
    registry = await startRegistryApp(RegistryConfig.load(env));
    registryUrl = (await registry.getUrl()).replace('[::1]', '127.0.0.1');
    const run = await registryCall('POST', '/runs', {
      experiment: 'security',
      runId: IRIS_RUN_ID,
      dataset: 'iris',
      datasetVersion: IRIS_DATASET_VERSION,
    });
    expect(run.status).toBeLessThan(300);
    const v1 = await register(irisOnnx({ shift: 0 }));
    await promote(v1.version);
    gateway = await startInferenceApp(
      InferenceConfig.load({
        ...env,
        REGISTRY_URL: registryUrl,
        MODEL_NAME: MODEL,
        MODEL_RETRY_INTERVAL_MS: '100',
        MODEL_SYNC_INTERVAL_MS: '0',
        INFERENCE_HOST: '127.0.0.1',
        INFERENCE_PORT: '0',
      }),
      { listen: false },
    );
    await waitFor(async () => (await served())?.version === 1, {
      timeoutMs: 20_000,
      description: 'v1 served',
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await registry?.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
    await foreign?.close();
    await deleteNamespace(AMQP_URL, namespace, QUEUES);
  });

  it('keeps serving the real model after a forged model.promoted and model.traffic, sends nothing to a foreign host, and still follows a real promotion', async () => {
    const real = await served();
    const bus = gateway.get(EventBus);
    const skippedBefore = await reloads('skipped');
    const forgedBytes = irisOnnx({ shift: 9 });
    // The champion's version number, another digest, an artifact on the attacker's host, a time years ahead.
    await bus.publish(
      EventNames.ModelPromoted,
      forgedPromotion(MODEL, real.version, sha256(forgedBytes), foreignUrl),
    );
    await bus.publish(EventNames.ModelTraffic, forgedTraffic(MODEL, sha256(forgedBytes), foreignUrl));
    await waitFor(async () => (await reloads('skipped')) > skippedBefore, {
      timeoutMs: 15_000,
      description: 'the forged model.promoted to be heard and found in step with the registry',
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the forged model.traffic too
    expect(await served()).toEqual(real);
    expect(foreignRequests).toEqual([]);

    // A real promotion afterwards is served: the forged promotedAt made nothing look superseded.
    const v2 = await register(irisOnnx({ shift: 0.5 }));
    await promote(v2.version);
    await waitFor(async () => (await served())?.version === v2.version, {
      timeoutMs: 15_000,
      description: 'the real promotion of v2',
    });
    expect((await served()).sha256).toBe(v2.sha256);
    expect(foreignRequests).toEqual([]);
  });

  it('dead-letters a forged model.registered naming an artifact never uploaded, with the reason, and registers nothing', async () => {
    const versionsBefore = (await registryCall('GET', `/models/${MODEL}`)).json.versions as unknown[];
    expect(versionsBefore.length).toBeGreaterThan(0);
    const forgedBytes = irisOnnx({ shift: 7 });
    const forgedVersion = 99;
    await gateway
      .get(EventBus)
      .publish(
        EventNames.ModelRegistered,
        forgedRegistration(MODEL, forgedVersion, IRIS_RUN_ID, sha256(forgedBytes), foreignUrl),
      );
    const registryBus = registry.get(EventBus);
    await waitFor(async () => (await registryBus.deadLetterCount('registry.training')) > 0, {
      timeoutMs: 15_000,
      description: 'the forged model.registered to be dead-lettered',
    });
    const [letter] = await registryBus.deadLetters('registry.training', 10);
    expect(JSON.stringify(letter)).toMatch(/never uploaded here/);
    expect((await registryCall('GET', `/models/${MODEL}/versions/${forgedVersion}`)).status).toBe(404);
    expect((await registryCall('GET', `/models/${MODEL}`)).json.versions).toEqual(versionsBefore);
    expect(foreignRequests).toEqual([]);
  });

  it('refuses an absolute URL in the service client before anything leaves, key included', async () => {
    const client = new ServiceClient({ service: 'registry', baseUrl: registryUrl, apiKey: adminKey });
    for (const path of [
      `${foreignUrl}/steal`,
      `//${new URL(foreignUrl).host}/steal`,
      `/\\${new URL(foreignUrl).host}`,
    ]) {
      await expect(client.get(path)).rejects.toThrow(/refusing to call .*a service client calls only/);
    }
    expect(foreignRequests).toEqual([]);
  });

  it.each([
    [
      'a malformed file',
      () => Buffer.from('MZ\u0090\u0000 definitely not an ONNX model'),
      /not an ONNX model/,
    ],
    [
      'a model running a foreign operator domain',
      () => onnxModelUsing('com.microsoft', 'FusedConv'),
      /operator domain "com\.microsoft", which is not allowed/,
    ],
  ])('answers 422 to an upload of %s, naming the problem, and stores nothing', async (_case, bytes, why) => {
    const body = bytes();
    const answer = await upload(body);
    expect(answer.status).toBe(422);
    expect(answer.json.message).toMatch(/^the artifact is not an acceptable ONNX model: /);
    expect(answer.json.message).toMatch(why);
    expect((await registryCall('GET', `/artifacts/${sha256(body)}`)).status).toBe(404);
  });
});
