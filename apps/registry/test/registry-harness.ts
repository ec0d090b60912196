/**
 * The registry app for the integration tests (registry-runs.test.ts, registry-models.test.ts), on real services
 * (PostgreSQL, RabbitMQ through a TCP proxy) or on the embedded adapters, with the HTTP helpers the tests share.
 * Call it inside a describe: it registers the beforeAll that starts the app and the afterAll that stops it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { EventBus, Subscription } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, TestDatabase } from '../../../libs/testing/src/test-database';
import { createTestBus, deleteNamespace, TcpProxy, uniqueNamespace } from '@sepal/testing';
import { startRegistryApp } from '../src/bootstrap';
import { RegistryConfig } from '../src/registry.config';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');
export const DATASET_VERSION = 'd'.repeat(64);

const ADMIN_KEY = 'registry-test-admin-key';

export type RegistryTestMode = 'real services' | 'embedded adapters';

/** Starts the registry for the tests of the enclosing describe; the app and buses are set once beforeAll ran. */
export function registryForTests(mode: RegistryTestMode) {
  const real = mode === 'real services';
  let app: NestFastifyApplication;
  let db: TestDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let namespace: string;
  let modelsDir: string;
  /** The app's bus (through the proxy on real services). */
  let appBus: EventBus;
  /** A bus straight to the broker (real services) or the app's in-process one: the test's own consumer/producer. */
  let testBus: EventBus;
  let subscription: Subscription;
  const promoted: EventEnvelope<typeof EventNames.ModelPromoted>[] = [];

  /** Secrets of the keys the test makes, by name; every call sends the admin key unless it names another. */
  const secrets: Record<string, string> = { admin: ADMIN_KEY };
  const http = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
    as = 'admin',
  ) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({ method, url, payload: payload as object, headers: { 'x-api-key': secrets[as], ...headers } });
  const makeKey = async (name: string, scopes: string[]) => {
    const created = await http('POST', '/keys', { name, scopes });
    expect(created.statusCode).toBe(201);
    secrets[name] = created.json().secret;
  };

  const upload = (content: Buffer, stated = sha(content)) =>
    http('POST', '/artifacts', content as unknown as object, {
      'content-type': 'application/octet-stream',
      'x-content-sha256': stated,
    });

  const newRun = async (body: Record<string, unknown>) => {
    const response = await http('POST', '/runs', { experiment: 'iris', ...body });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string };
  };

  beforeAll(async () => {
    namespace = uniqueNamespace('registry');
    db = real ? await createTestDatabase() : undefined;
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-models-'));
    if (real) {
      const target = new URL(AMQP_URL);
      proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
      await proxy.start();
    }
    const config = RegistryConfig.load({
      DATABASE_URL: db?.url,
      AMQP_URL: proxy ? proxy.proxiedUrl(AMQP_URL) : undefined,
      SEPAL_HOME: `memory://registry-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      MODELS_DIR: modelsDir,
      SEPAL_API_KEY: ADMIN_KEY,
      REGISTRY_PUBLIC_URL: 'http://registry.test:3002/',
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
      REGISTRY_PUBLISH_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'error',
    });
    app = await startRegistryApp(config, { listen: false });
    appBus = app.get(EventBus);
    testBus = createTestBus(namespace, real ? AMQP_URL : undefined);
    subscription = await testBus.subscribe(
      { queue: 'test.promoted', patterns: [EventNames.ModelPromoted] },
      async (envelope) => {
        // Delivery is at least once (the relay resends a row whose confirm came after the publish timeout, as on
        // a loaded machine); like every consumer, this one dedupes by messageId.
        if (promoted.some((seen) => seen.messageId === envelope.messageId)) return;
        promoted.push(envelope as EventEnvelope<typeof EventNames.ModelPromoted>);
      },
    );
  }, 60_000);

  afterAll(async () => {
    await subscription?.close();
    await proxy?.resume();
    await app?.close();
    await testBus?.close();
    await proxy?.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
    if (real)
      await deleteNamespace(AMQP_URL, namespace, ['registry.training', 'registry.jobs', 'test.promoted']);
  });

  return {
    real,
    promoted,
    http,
    makeKey,
    upload,
    newRun,
    get app() {
      return app;
    },
    get proxy() {
      return proxy;
    },
    get namespace() {
      return namespace;
    },
    get modelsDir() {
      return modelsDir;
    },
    get appBus() {
      return appBus;
    },
    get testBus() {
      return testBus;
    },
  };
}
