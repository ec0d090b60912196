/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
/*
 * Least privilege in the distributed mode, on the real PostgreSQL and RabbitMQ: the provisioning scripts that
 * docker-compose runs (scripts/provision) create one role and one broker user per app, in a fresh database and a
 * dedicated virtual host; every app then starts under its own identity (its migrations run, its queues are declared),
 * and neither a role nor a user can reach what belongs to another app.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { EventNames } from '@sepal/contracts';
import { EventBus, SepalHeaders } from '@sepal/messaging';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { brokerRefusal, createTestDatabase, sampleEventPayload, TestDatabase, waitFor } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';
import { expectOwnedTopics } from './broker-definitions';
import { ROOT } from './compose-file';
import {
  ProvisionedApp,
  ProvisionedIdentities,
  provisionIdentities,
  publishAsUser,
  run,
} from './provisioned-identities';

type App = ProvisionedApp;

/** A PostgreSQL error's SQLSTATE (42501 is insufficient_privilege). */
async function sqlState(client: Client, sql: string): Promise<string | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('least privilege: per-app PostgreSQL roles and RabbitMQ users', () => {
  const apps: NestFastifyApplication[] = [];
  const connections: ChannelModel[] = [];
  let database: TestDatabase;
  let modelsDir: string;
  let ids: ProvisionedIdentities;
  const role = (app: App) => ids.role(app);
  const dbUrl = (app: App) => ids.dbUrl(app);
  const amqpUrl = (app: App) => ids.amqpUrl(app);
  const asRole = async (app: App) => {
    const client = new Client({ connectionString: dbUrl(app) });
    await client.connect();
    return client;
  };
  const amqpAs = async (app: App) => {
    const connection = await connect(amqpUrl(app));
    connection.on('error', () => undefined);
    connections.push(connection);
    return connection;
  };
  /** Consumes `queue` as `app`'s user; resolves with the broker's refusal code, or undefined if it was allowed. */
  const consumeAs = async (app: App, queue: string): Promise<number | undefined> => {
    const channel = await (await amqpAs(app)).createChannel();
    channel.on('error', () => undefined);
    try {
      const { consumerTag } = await channel.consume(queue, () => undefined);
      await channel.cancel(consumerTag);
      await channel.close();
      return undefined;
    } catch (error) {
      return (error as { code?: number }).code;
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase('sepal_lp');
    ids = await provisionIdentities(database, 'lp');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-lp-'));

    const env: NodeJS.ProcessEnv = {
      LOG_LEVEL: 'error',
      DATA_PORT: '0',
      DATA_HOST: '127.0.0.1',
      DATA_DIR: join(ROOT, 'data'),
      FEEDBACK_COMMIT_EVERY: '0',
      REGISTRY_PORT: '0',
      REGISTRY_HOST: '127.0.0.1',
      MODELS_DIR: modelsDir,
      INFERENCE_PORT: '0',
      INFERENCE_HOST: '127.0.0.1',
      REGISTRY_URL: 'http://127.0.0.1:9',
      MODEL_NAME: 'IrisModel',
      TRAINER_PORT: '0',
      TRAINER_HOST: '127.0.0.1',
      DATA_URL: 'http://127.0.0.1:9',
      TF_BACKEND: 'cpu',
      RETRAIN_ON_FEEDBACK: 'false',
      RETRAIN_ON_DRIFT: 'false',
    };
    const own = (app: App) => ({
      ...env,
      AMQP_URL: amqpUrl(app),
      // The users of this run are not sepal_<app>: say which is which, so every consumer enforces the owners.
      AMQP_PRODUCERS: ids.producers,
      ...(app === 'data' || app === 'registry' ? { DATABASE_URL: dbUrl(app) } : {}),
    });
    apps.push(await startDataApp(DataConfig.load(own('data'))));
    apps.push(await startRegistryApp(RegistryConfig.load(own('registry'))));
    apps.push(await startTrainerApp(TrainerConfig.load(own('trainer'))));
    const registryUrl = (await apps[1].getUrl()).replace('[::1]', '127.0.0.1');
    apps.push(
      await startInferenceApp(InferenceConfig.load({ ...own('inference'), REGISTRY_URL: registryUrl })),
    );
  }, 180_000);

  afterAll(async () => {
    for (const connection of connections) await connection.close().catch(() => undefined);
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await closeEmbeddedDatabases();
    await database?.drop();
    await ids?.remove();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  }, 60_000);

  it('runs each app with a database under its own role: the migrations created its schema, owned by it', async () => {
    const client = await asRole('data');
    try {
      const { rows } = await client.query<{ schema: string; owner: string; tables: string; foreign: string }>(
        `SELECT n.nspname AS schema, pg_get_userbyid(n.nspowner) AS owner,
                count(c.oid) AS tables,
                count(c.oid) FILTER (WHERE pg_get_userbyid(c.relowner) <> pg_get_userbyid(n.nspowner)) AS foreign
           FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'r'
          WHERE n.nspname IN ('data', 'registry') GROUP BY n.nspname, n.nspowner ORDER BY n.nspname`,
      );
      expect(rows.map(({ schema, owner }) => [schema, owner])).toEqual([
        ['data', role('data')],
        ['registry', role('registry')],
      ]);
      for (const row of rows) {
        expect(Number(row.tables)).toBeGreaterThan(2); // the migrations ran, as the owner
        expect(Number(row.foreign)).toBe(0);
      }
    } finally {
      await client.end();
    }
  });

  it("refuses the registry's role every access to data's schema, and lets it use its own", async () => {
    const registry = await asRole('registry');
    try {
      expect(await sqlState(registry, 'SELECT count(*) FROM data.datasets')).toBe('42501');
      expect(await sqlState(registry, 'INSERT INTO data.feedback DEFAULT VALUES')).toBe('42501');
      expect(await sqlState(registry, 'DELETE FROM data.dataset_versions')).toBe('42501');
      expect(await sqlState(registry, 'CREATE TABLE data.intruder (id int)')).toBe('42501');
      expect(await sqlState(registry, 'DROP TABLE data.datasets')).toBe('42501');
      // Nor anything outside its schema: no new schema, nothing in public.
      expect(await sqlState(registry, 'CREATE SCHEMA intruder')).toBe('42501');
      expect(await sqlState(registry, 'CREATE TABLE public.intruder (id int)')).toBe('42501');

      expect(await sqlState(registry, 'SELECT count(*) FROM registry.models')).toBeUndefined();
      expect(await sqlState(registry, 'CREATE TABLE registry.scratch (id int)')).toBeUndefined();
      expect(await sqlState(registry, 'INSERT INTO registry.scratch VALUES (1)')).toBeUndefined();
      expect(await sqlState(registry, 'DROP TABLE registry.scratch')).toBeUndefined();
    } finally {
      await registry.end();
    }
  });

  it("refuses the data role the registry's schema (the audit log cannot be rewritten from there)", async () => {
    const data = await asRole('data');
    try {
      expect(await sqlState(data, 'SELECT count(*) FROM registry.alias_audit')).toBe('42501');
      expect(await sqlState(data, 'UPDATE registry.aliases SET version = 1')).toBe('42501');
      expect(await sqlState(data, 'SELECT count(*) FROM data.datasets')).toBeUndefined();
    } finally {
      await data.end();
    }
  });

  it("refuses one app's RabbitMQ user another app's queue (ACCESS_REFUSED) and lets it consume its own", async () => {
    const ACCESS_REFUSED = 403;
    // The queues the running apps declared under their own users.
    expect(await consumeAs('registry', 'trainer.jobs')).toBe(ACCESS_REFUSED);
    expect(await consumeAs('inference', 'registry.training')).toBe(ACCESS_REFUSED);
    expect(await consumeAs('trainer', 'data.feedback')).toBe(ACCESS_REFUSED);
    expect(await consumeAs('data', 'inference.model-promoted.dlq')).toBe(ACCESS_REFUSED);
    expect(await consumeAs('trainer', 'registry.jobs.dlq')).toBe(ACCESS_REFUSED);

    expect(await consumeAs('trainer', 'trainer.jobs.dlq')).toBeUndefined();
    expect(await consumeAs('registry', 'registry.training.dlq')).toBeUndefined();
    expect(await consumeAs('data', 'data.feedback.dlq')).toBeUndefined();
    expect(await consumeAs('inference', 'inference.model-promoted.dlq')).toBeUndefined();
  });

  it("refuses a user to declare or bind a queue in another app's name, or to create exchanges", async () => {
    const connection = await amqpAs('inference');
    const attempt = async (action: (channel: Channel) => Promise<unknown>) =>
      (await brokerRefusal(connection, action))?.code;
    expect(await attempt((c) => c.assertQueue('trainer.stolen', { durable: true }))).toBe(403);
    expect(await attempt((c) => c.assertExchange('intruder.events', 'topic'))).toBe(403);
    expect(await attempt((c) => c.bindQueue('trainer.jobs', 'sepal.events', '#'))).toBe(403);
    expect(await attempt((c) => c.assertQueue('inference.scratch', { autoDelete: true }))).toBeUndefined();
  });

  /**
   * Publishes one message as `app`'s user on a confirm channel; resolves with the broker's refusal (it closes the
   * channel: 403 ACCESS_REFUSED, 406 PRECONDITION_FAILED) or undefined once the broker confirmed it.
   */
  const publishAs = async (
    app: App,
    exchange: string,
    routingKey: string,
    options: { userId?: string; body?: unknown } = {},
  ) => publishAsUser(await amqpAs(app), role(app), exchange, routingKey, options);
  const ACCESS_REFUSED = 403;
  const PRECONDITION_FAILED = 406;

  it('gives each user topic permissions on sepal.events for exactly the events its app owns (EVENT_OWNERS)', () => {
    expectOwnedTopics(ids.definitions, role, 'sepal.events');
  });

  it("refuses a user publishing another app's event on sepal.events (ACCESS_REFUSED) and lets it publish its own", async () => {
    const denied = await publishAs('data', 'sepal.events', EventNames.ModelPromoted);
    expect(denied?.code).toBe(ACCESS_REFUSED);
    expect(denied?.message).toMatch(
      /ACCESS_REFUSED - access to topic 'model\.promoted' in exchange 'sepal\.events' .* refused for user '.*_data'/,
    );
    expect((await publishAs('inference', 'sepal.events', EventNames.ModelTraffic))?.code).toBe(
      ACCESS_REFUSED,
    );
    expect((await publishAs('trainer', 'sepal.events', EventNames.JobCancelRequested))?.code).toBe(
      ACCESS_REFUSED,
    );
    expect((await publishAs('registry', 'sepal.events', EventNames.RunFinished))?.code).toBe(ACCESS_REFUSED);

    // Only the exact keys it owns: another word under an owned prefix is refused too.
    expect((await publishAs('registry', 'sepal.events', 'model.promoted.extra'))?.code).toBe(ACCESS_REFUSED);
    // Its own event is accepted (the gateways dead-letter this empty body as invalid).
    expect(await publishAs('registry', 'sepal.events', EventNames.ModelTraffic)).toBeUndefined();
  });

  it("refuses every user the default exchange and other apps' exchanges; each retries through its own", async () => {
    const defaultExchange = await publishAs('trainer', '', 'trainer.jobs');
    expect(defaultExchange?.code).toBe(ACCESS_REFUSED);
    expect(defaultExchange?.message).toMatch(
      /ACCESS_REFUSED - access to exchange 'amq\.default' .* refused for user '.*_trainer'/,
    );
    expect((await publishAs('data', 'registry.dlx', 'registry.training'))?.code).toBe(ACCESS_REFUSED);
    // The data app's own exchange (declared by its consumer), where its retries go: allowed.
    expect(await publishAs('data', 'data.dlx', 'no-such-queue')).toBeUndefined();
  });

  it("refuses a message whose user-id is not the publisher's login (a forged producer)", async () => {
    const forged = await publishAs('inference', 'sepal.events', EventNames.DriftDetected, {
      userId: role('registry'),
    });
    expect(forged?.code).toBe(PRECONDITION_FAILED);
    expect(forged?.message).toMatch(
      /user_id property set to '.*registry' but authenticated user was '.*inference'/,
    );
  });

  it('dead-letters, with the reason, an event whose type is not the routing key its owner may publish', async () => {
    // The gateway's user may publish drift.detected; it cannot make that a dataset.versioned (the data app's).
    const body = {
      messageId: `smuggled-${ids.prefix}`,
      type: EventNames.DatasetVersioned,
      timestamp: new Date().toISOString(),
      correlationId: 'lp',
      payload: sampleEventPayload(EventNames.DatasetVersioned),
    };
    expect(await publishAs('inference', 'sepal.events', EventNames.DriftDetected, { body })).toBeUndefined();
    const trainerBus = apps[2].get(EventBus);
    await waitFor(async () => (await trainerBus.deadLetterCount('trainer.retrain-policy')) === 1, {
      timeoutMs: 10_000,
      description: 'the smuggled event to be dead-lettered',
    });
    const [deadLetter] = await trainerBus.deadLetters('trainer.retrain-policy');
    expect(deadLetter).toMatchObject({ attempts: 0, producer: role('inference') });
    expect(deadLetter.error).toBe(
      "refused: published with routing key 'drift.detected' but its type is 'dataset.versioned'",
    );
    // The header the dead letter carries, for whoever inspects the queue.
    const channel = await (await amqpAs('trainer')).createChannel();
    const message = await channel.get('trainer.retrain-policy.dlq', { noAck: false });
    expect(message && message.properties.headers?.[SepalHeaders.Error]).toBe(deadLetter.error);
    await channel.close();
  });

  it('declares the work queues as quorum queues and the broadcast queues as classic ones', async () => {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', ids.vhost, 'name', 'type']);
    const types = new Map(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/) as [string, string]),
    );
    for (const queue of [
      'trainer.jobs',
      'trainer.retrain-policy',
      'registry.training',
      'registry.jobs',
      'data.feedback',
    ])
      expect([queue, types.get(queue)]).toEqual([queue, 'quorum']);
    const broadcast = [...types].filter(
      ([name]) => name.startsWith('inference.model-promoted.') && !name.endsWith('.dlq'),
    );
    expect(broadcast.length).toBeGreaterThan(0);
    for (const [name, type] of broadcast) expect([name, type]).toEqual([name, 'classic']);
  });
});
