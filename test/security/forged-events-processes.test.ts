/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * The forged-events attack with the apps as separate processes from the build (`npm run build` first), each under
 * its own PostgreSQL role and RabbitMQ user as docker-compose provisions them, keys on: an attacker holding another
 * app's broker login cannot publish model.promoted, model.traffic or model.registered (RabbitMQ refuses), nor reach
 * the gateway's queue through the default exchange; one holding the trainer's login (which may publish
 * model.registered) gets its forgery dead-lettered by the registry with the reason. The gateway keeps serving the
 * registry's champion, and nothing is sent to the attacker's host.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { EventNames } from '@sepal/contracts';
import { SepalHeaders } from '@sepal/messaging';
import { createTestDatabase, freePort, TestDatabase, waitFor } from '@sepal/testing';
import {
  ProvisionedApp,
  ProvisionedIdentities,
  provisionIdentities,
  publishAsUser,
} from '../deployment/provisioned-identities';
import { ServiceProcess } from '../e2e/service-process';
import { IRIS_DATASET_VERSION, IRIS_RUN_ID, irisOnnx, sha256 } from '../inference/fixtures';
import {
  AttackerHost,
  forgedPromotion,
  forgedRegistration,
  forgedTraffic,
  keyedCall,
  startAttackerHost,
} from './forgeries';

jest.setTimeout(120_000);

const MODEL = 'IrisModel';
const ACCESS_REFUSED = 403;

describe("forged events from other apps' broker logins (separate processes, own identities, keys on)", () => {
  const adminKey = randomBytes(24).toString('hex');
  const connections: ChannelModel[] = [];
  let foreignRequests: AttackerHost['requests'] = [];
  let db: TestDatabase;
  let ids: ProvisionedIdentities;
  let modelsDir: string;
  let foreign: AttackerHost;
  let foreignUrl: string;
  let registry: ServiceProcess;
  let gateway: ServiceProcess;

  const call = (url: string, method: string, body?: unknown, headers: Record<string, string> = {}) =>
    keyedCall(url, method, adminKey, body, headers);
  const served = async () =>
    (await call(`${gateway.url}/predict`, 'POST', { features: [5.1, 3.5, 1.4, 0.2] })).json?.model as
      { version: number; sha256: string } | undefined;
  const publishAs = async (app: ProvisionedApp, exchange: string, routingKey: string, body?: unknown) => {
    const connection = await connect(ids.amqpUrl(app));
    connection.on('error', () => undefined);
    connections.push(connection);
    return publishAsUser(connection, ids.role(app), exchange, routingKey, { body });
  };
  const envelope = (type: string, payload: unknown) => ({
    messageId: randomUUID(),
    type,
    timestamp: new Date().toISOString(),
    correlationId: randomUUID(),
    payload,
  });
  const report = () => [registry, gateway].map((s) => `--- ${s.app} ---\n${s.tail()}`).join('\n');
  /** `waiting`, failing with the processes' latest output (read when it fails, not when it starts). */
  const withReport = async <T>(waiting: Promise<T>): Promise<T> => {
    try {
      return await waiting;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${report()}`);
    }
  };
  const waitHealthy = (service: ServiceProcess, probe: 'ready' | 'live') =>
    withReport(
      waitFor(
        async () =>
          (await fetch(`${service.url}/health/${probe}`).then(
            (r) => r.status,
            () => 0,
          )) === 200,
        {
          timeoutMs: 90_000,
          description: `${service.app} to answer /health/${probe}`,
        },
      ),
    );

  beforeAll(async () => {
    foreign = await startAttackerHost(irisOnnx({ shift: 9 }));
    foreignUrl = foreign.url;
    foreignRequests = foreign.requests;
    db = await createTestDatabase('sepal_forged_processes');
    ids = await provisionIdentities(db, 'forged');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-forged-'));
    const [registryPort, gatewayPort] = [await freePort(), await freePort()];
    const common = {
      SEPAL_API_KEY: adminKey,
      AMQP_PRODUCERS: ids.producers,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
    };
    registry = new ServiceProcess('registry', `http://127.0.0.1:${registryPort}`, {
      ...common,
      DATABASE_URL: ids.dbUrl('registry'),
      AMQP_URL: ids.amqpUrl('registry'),
      REGISTRY_PORT: String(registryPort),
      MODELS_DIR: modelsDir,
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
    });
    gateway = new ServiceProcess('inference', `http://127.0.0.1:${gatewayPort}`, {
      ...common,
      AMQP_URL: ids.amqpUrl('inference'),
      REGISTRY_URL: registry.url,
      INFERENCE_PORT: String(gatewayPort),
      MODEL_NAME: MODEL,
      MODEL_RETRY_INTERVAL_MS: '200',
      MODEL_SYNC_INTERVAL_MS: '0',
    });
    registry.start();
    await waitHealthy(registry, 'ready');
    const run = await call(`${registry.url}/runs`, 'POST', {
      experiment: 'security',
      runId: IRIS_RUN_ID,
      dataset: 'iris',
      datasetVersion: IRIS_DATASET_VERSION,
    });
    expect(run.status).toBeLessThan(300);
    const bytes = irisOnnx({ shift: 0 });
    const uploaded = await call(`${registry.url}/artifacts`, 'POST', bytes, {
      'x-content-sha256': sha256(bytes),
    });
    expect(uploaded.status).toBeLessThan(300);
    const version = await call(`${registry.url}/models/${MODEL}/versions`, 'POST', {
      runId: IRIS_RUN_ID,
      sha256: sha256(bytes),
    });
    expect(version.status).toBe(201);
    expect(
      (await call(`${registry.url}/models/${MODEL}/aliases/champion`, 'PUT', { version: 1 })).status,
    ).toBe(200);
    gateway.start();
    await waitHealthy(gateway, 'live');
    await withReport(
      waitFor(async () => (await served())?.version === 1, {
        timeoutMs: 60_000,
        description: 'the gateway to serve v1',
      }),
    );
  }, 240_000);

  afterAll(async () => {
    for (const connection of connections) await connection.close().catch(() => undefined);
    await gateway?.stop();
    await registry?.stop();
    await foreign?.close();
    await db?.drop();
    await ids?.remove();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  }, 60_000);

  it("refuses at the broker every forgery under another app's login; the gateway keeps serving the champion", async () => {
    const real = await served();
    const forgedBytes = irisOnnx({ shift: 9 });
    const forged = sha256(forgedBytes);
    const promoted = envelope(
      EventNames.ModelPromoted,
      forgedPromotion(MODEL, real!.version, forged, foreignUrl),
    );
    const traffic = envelope(EventNames.ModelTraffic, forgedTraffic(MODEL, forged, foreignUrl));
    const registered = envelope(
      EventNames.ModelRegistered,
      forgedRegistration(MODEL, 99, IRIS_RUN_ID, forged, foreignUrl),
    );
    const attempts: [ProvisionedApp, string, unknown][] = [
      ['data', EventNames.ModelPromoted, promoted],
      ['trainer', EventNames.ModelPromoted, promoted],
      ['inference', EventNames.ModelPromoted, promoted],
      ['data', EventNames.ModelTraffic, traffic],
      ['inference', EventNames.ModelTraffic, traffic],
      ['data', EventNames.ModelRegistered, registered],
      ['inference', EventNames.ModelRegistered, registered],
    ];
    for (const [app, routingKey, body] of attempts) {
      const refusal = await publishAs(app, 'sepal.events', routingKey, body);
      expect([app, routingKey, refusal?.code]).toEqual([app, routingKey, ACCESS_REFUSED]);
    }
    // Straight to the gateway's queue through the default exchange: refused to every app's user.
    const direct = await publishAs('data', '', 'inference.model-promoted', promoted);
    expect(direct?.code).toBe(ACCESS_REFUSED);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await served()).toEqual(real);
    expect(foreignRequests).toEqual([]);
  });

  it("dead-letters, with the reason, a model.registered under the trainer's login that names an artifact never uploaded", async () => {
    const forgedBytes = irisOnnx({ shift: 7 });
    const registered = envelope(
      EventNames.ModelRegistered,
      forgedRegistration(MODEL, 98, IRIS_RUN_ID, sha256(forgedBytes), foreignUrl),
    );
    expect(
      await publishAs('trainer', 'sepal.events', EventNames.ModelRegistered, registered),
    ).toBeUndefined();
    const connection = await connect(ids.amqpUrl('registry'));
    connection.on('error', () => undefined);
    connections.push(connection);
    const channel = await connection.createChannel();
    let letter: Awaited<ReturnType<typeof channel.get>> = false;
    await withReport(
      waitFor(
        async () => {
          letter = await channel.get('registry.training.dlq', { noAck: false });
          return letter !== false;
        },
        { timeoutMs: 15_000, description: 'the forged model.registered to be dead-lettered' },
      ),
    );
    const message = letter as unknown as { properties: { headers?: Record<string, unknown> } };
    expect(String(message.properties.headers?.[SepalHeaders.Error])).toMatch(/never uploaded here/);
    await channel.close();
    expect((await call(`${registry.url}/models/${MODEL}/versions/98`, 'GET')).status).toBe(404);
    expect(foreignRequests).toEqual([]);
  });
});
