/*
 * One PostgreSQL role and one RabbitMQ user per app, made by the provisioning scripts docker-compose runs
 * (scripts/provision), in a test database and a dedicated virtual host, with names unique to the run: what the
 * least-privilege and attack suites start apps under. Needs psql and rabbitmqctl on the broker's machine.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { TestDatabase, uniqueNamespace, waitFor } from '@sepal/testing';
import { BrokerDefinitions } from './broker-definitions';
import { ROOT } from './compose-file';

const execFileAsync = promisify(execFile);

/** Runs a command; a missing one (rabbitmqctl, psql) fails with what is needed rather than ENOENT. */
export async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  try {
    return await execFileAsync(command, args, options);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new Error(
        `${command} is not installed: this test provisions a vhost and users with rabbitmqctl and roles with psql, ` +
          'on the machine of the broker (as root or the rabbitmq user); see DEVELOPERS.md',
      );
    }
    throw error;
  }
}

export const PROVISIONED_APPS = ['data', 'registry', 'trainer', 'inference'] as const;
export type ProvisionedApp = (typeof PROVISIONED_APPS)[number];
const AMQP_HOST = process.env.TEST_AMQP_HOST ?? '127.0.0.1:5672';

export interface ProvisionedIdentities {
  /** Prefix of this run's role and user names (`<prefix><app>`). */
  prefix: string;
  vhost: string;
  definitions: BrokerDefinitions;
  role(app: ProvisionedApp): string;
  dbUrl(app: ProvisionedApp): string;
  amqpUrl(app: ProvisionedApp): string;
  /** AMQP_PRODUCERS for the apps: which user is which app, so every consumer enforces the event owners. */
  producers: string;
  /** Drops the roles, deletes the users and the vhost; call it after dropping the database (the roles own its schemas). */
  remove(): Promise<void>;
}

export async function provisionIdentities(
  database: TestDatabase,
  name: string,
): Promise<ProvisionedIdentities> {
  const prefix = `${uniqueNamespace(name)}_`;
  const vhost = uniqueNamespace(`sepal_${name}`);
  const passwords = Object.fromEntries(PROVISIONED_APPS.map((app) => [app, `pw-${app}-${prefix}`])) as Record<
    ProvisionedApp,
    string
  >;
  const role = (app: ProvisionedApp) => `${prefix}${app}`;
  const admin = new URL(database.url);
  const provisionEnv = {
    ...process.env,
    PGHOST: admin.hostname,
    PGPORT: admin.port || '5432',
    PGUSER: decodeURIComponent(admin.username) || 'postgres',
    PGPASSWORD: decodeURIComponent(admin.password),
    PGDATABASE: database.name,
    SEPAL_DATABASE: database.name,
    SEPAL_ROLE_PREFIX: prefix,
    SEPAL_USER_PREFIX: prefix,
    SEPAL_AMQP_VHOST: vhost,
    SEPAL_DATA_DB_PASSWORD: passwords.data,
    SEPAL_REGISTRY_DB_PASSWORD: passwords.registry,
    SEPAL_DATA_AMQP_PASSWORD: passwords.data,
    SEPAL_REGISTRY_AMQP_PASSWORD: passwords.registry,
    SEPAL_TRAINER_AMQP_PASSWORD: passwords.trainer,
    SEPAL_INFERENCE_AMQP_PASSWORD: passwords.inference,
  };
  // The scripts docker-compose runs: the postgres init script and the broker's definitions.
  await run('sh', [join(ROOT, 'scripts/provision/postgres-roles.sh')], { env: provisionEnv });
  const { stdout: rendered } = await run('sh', [join(ROOT, 'scripts/provision/rabbitmq-definitions.sh')], {
    env: provisionEnv,
  });
  // rabbitmqctl may run as the broker's user (the Debian wrapper switches to it): let it read the file.
  const definitionsDir = await mkdtemp(join(tmpdir(), 'sepal-definitions-'));
  const definitionsFile = join(definitionsDir, 'definitions.json');
  await writeFile(definitionsFile, rendered, { mode: 0o644 });
  await chmod(definitionsDir, 0o755);
  try {
    await run('rabbitmqctl', ['-q', 'import_definitions', definitionsFile]);
  } finally {
    await rm(definitionsDir, { recursive: true, force: true });
  }
  // The import is asynchronous: wait until every user has its permissions in the vhost.
  await waitFor(
    async () => {
      const { stdout } = await run('rabbitmqctl', ['-q', 'list_permissions', '-p', vhost]);
      const { stdout: topics } = await run('rabbitmqctl', ['-q', 'list_topic_permissions', '-p', vhost]);
      return PROVISIONED_APPS.every((app) => stdout.includes(role(app)) && topics.includes(role(app)));
    },
    { timeoutMs: 15_000, intervalMs: 250, description: 'the RabbitMQ definitions to be imported' },
  );
  return {
    prefix,
    vhost,
    definitions: JSON.parse(rendered) as BrokerDefinitions,
    role,
    dbUrl(app) {
      const url = new URL(database.url);
      url.username = role(app);
      url.password = passwords[app];
      return url.toString();
    },
    amqpUrl: (app) => `amqp://${role(app)}:${passwords[app]}@${AMQP_HOST}/${encodeURIComponent(vhost)}`,
    producers: PROVISIONED_APPS.map((producer) => `${producer}=${role(producer)}`).join(','),
    async remove() {
      const client = new Client({ connectionString: database.url.replace(`/${database.name}`, '/postgres') });
      await client.connect();
      for (const app of PROVISIONED_APPS) await client.query(`DROP ROLE IF EXISTS "${role(app)}"`);
      await client.end();
      for (const app of PROVISIONED_APPS)
        await run('rabbitmqctl', ['-q', 'delete_user', role(app)]).catch(() => undefined);
      await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
    },
  };
}

/**
 * Publishes `body` (default {}) on `exchange` with `routingKey` through `connection` (logged in as `user`), with the
 * user-id property set to `options.userId` (default: the login); resolves with the broker's refusal, or undefined
 * once the broker confirmed it.
 */
export async function publishAsUser(
  connection: ChannelModel,
  user: string,
  exchange: string,
  routingKey: string,
  options: { userId?: string; body?: unknown } = {},
): Promise<{ code?: number; message: string } | undefined> {
  const channel = await connection.createConfirmChannel();
  let refused: { code?: number; message: string } | undefined;
  channel.on('error', (error: { code?: number; message: string }) => {
    refused = { code: error.code, message: error.message };
  });
  try {
    channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(options.body ?? {})), {
      userId: options.userId ?? user,
      contentType: 'application/json',
    });
    await channel.waitForConfirms();
    await channel.close();
  } catch (error) {
    refused ??= { code: (error as { code?: number }).code, message: (error as Error).message };
  }
  return refused;
}
