import { Logger } from '@nestjs/common';
import { EventEnvelope, EventNames, InvalidEventError } from '@sepal/contracts';
import {
  AmqpEventBus,
  claimMessage,
  enqueueEvent,
  inboxTableSql,
  MessagingOptions,
  OutboxRelay,
  outboxTableSql,
} from '@sepal/messaging';
import { deleteNamespace, sleep, TcpProxy, TEST_AMQP_URL, uniqueNamespace, waitFor } from '@sepal/testing';
import { DataSource } from 'typeorm';

jest.setTimeout(30_000);

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const namespace = uniqueNamespace('outbox');
const schema = namespace;
const SINK = 'outbox.sink';

interface OutboxState {
  message_id: string;
  sent: boolean;
  attempts: number;
  last_error: string | null;
}

let dataSource: DataSource;
let bus: AmqpEventBus;
let sinkBus: AmqpEventBus;
const received: EventEnvelope[] = [];
const closers: (() => Promise<unknown>)[] = [];

function options(overrides: Partial<MessagingOptions> = {}): MessagingOptions {
  return {
    amqpUrl: TEST_AMQP_URL,
    namespace,
    serviceName: 'outbox-test',
    reconnectDelayMs: 200,
    ...overrides,
  };
}

function enqueueInTransaction(count: number): Promise<string[]> {
  return dataSource.transaction(async (manager) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(await enqueueEvent(manager, schema, EventNames.TrainRequested, { dataset: `d${i}` }));
    }
    return ids;
  });
}

async function outboxRows(): Promise<OutboxState[]> {
  return dataSource.query(
    `SELECT message_id, sent_at IS NOT NULL AS sent, attempts, last_error FROM "${schema}".outbox ORDER BY seq`,
  );
}

beforeAll(async () => {
  Logger.overrideLogger(['error']);
  dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL, extra: { max: 8 } });
  await dataSource.initialize();
  await dataSource.query(`CREATE SCHEMA "${schema}"`);
  await dataSource.query(outboxTableSql(schema));
  await dataSource.query(inboxTableSql(schema));
  bus = new AmqpEventBus(options());
  sinkBus = new AmqpEventBus(options({ serviceName: 'outbox-sink' }));
  await sinkBus.subscribe({ queue: SINK, patterns: ['#'] }, async (envelope) => {
    received.push(envelope);
  });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await bus.close();
  await sinkBus.close();
  await deleteNamespace(TEST_AMQP_URL, namespace, [SINK]);
  await dataSource.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await dataSource.destroy();
});

beforeEach(async () => {
  received.length = 0;
  await dataSource.query(`TRUNCATE "${schema}".outbox`);
});

function newRelay(relayBus = bus, batchSize?: number): OutboxRelay {
  const relay = new OutboxRelay(dataSource, relayBus, { schema, intervalMs: 100, batchSize });
  closers.push(() => relay.stop());
  return relay;
}

describe('enqueueEvent', () => {
  it('writes nothing when the transaction rolls back, so nothing is published', async () => {
    await expect(
      dataSource.transaction(async (manager) => {
        await enqueueEvent(manager, schema, EventNames.TrainRequested, { dataset: 'iris' });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');

    expect(await outboxRows()).toEqual([]);
    expect(await newRelay().flush()).toBe(0);
    await sleep(200);
    expect(received).toEqual([]);
  });

  it('validates the payload and refuses to run outside a transaction', async () => {
    await expect(
      dataSource.transaction((manager) =>
        enqueueEvent(manager, schema, EventNames.TrainRequested, { dataset: '' }),
      ),
    ).rejects.toBeInstanceOf(InvalidEventError);
    await expect(
      enqueueEvent(dataSource.manager, schema, EventNames.TrainRequested, { dataset: 'iris' }),
    ).rejects.toThrow(/inside a transaction/);
    expect(await outboxRows()).toEqual([]);
  });
});

describe('OutboxRelay', () => {
  it('publishes pending rows once, in order, with their message ids, and marks them sent', async () => {
    const ids = [...(await enqueueInTransaction(3)), ...(await enqueueInTransaction(2))];
    const relay = newRelay();

    expect(await relay.flush()).toBe(5);
    expect(await relay.flush()).toBe(0);
    await waitFor(() => received.length >= 5);
    await sleep(200);

    expect(received.map((envelope) => envelope.messageId)).toEqual(ids);
    expect((await outboxRows()).every((row) => row.sent && row.attempts === 1)).toBe(true);
  });

  it('polls on its own once started', async () => {
    const relay = newRelay();
    relay.start();
    const [id] = await enqueueInTransaction(1);

    await waitFor(() => received.length === 1, { timeoutMs: 3000 });
    await relay.stop();
    expect(received[0].messageId).toBe(id);
    expect((await outboxRows())[0].sent).toBe(true);
  });

  it('keeps rows unsent while the broker is unreachable, and sends them once it is back', async () => {
    const url = new URL(TEST_AMQP_URL);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5672) });
    await proxy.start();
    closers.push(() => proxy.close());
    const cutOffBus = new AmqpEventBus(
      options({
        amqpUrl: proxy.proxiedUrl(TEST_AMQP_URL),
        serviceName: 'outbox-cut-off',
        publishTimeoutMs: 300,
      }),
    );
    closers.push(() => cutOffBus.close());
    await waitFor(() => cutOffBus.isConnected());
    await proxy.interrupt();
    const ids = await enqueueInTransaction(2);
    const relay = newRelay(cutOffBus);

    expect(await relay.flush()).toBe(0);
    const [first, second] = await outboxRows();
    expect(first).toMatchObject({ sent: false, attempts: 1 });
    expect(first.last_error).toMatch(/not confirmed by the broker within 300 ms/);
    expect(second).toMatchObject({ sent: false, attempts: 0 }); // the round stopped at the first failure

    await proxy.resume();
    await waitFor(async () => (await relay.flush(), (await outboxRows()).every((row) => row.sent)), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    await waitFor(() => received.length >= 2);
    await sleep(300);
    expect(received.map((envelope) => envelope.messageId)).toEqual(ids);
  });

  it('never sends a row twice when two relays work on the same table', async () => {
    const ids = await enqueueInTransaction(40);
    const relays = [newRelay(bus, 5), newRelay(bus, 5)];

    const sent = await Promise.all([...relays, ...relays].map((relay) => relay.flush()));

    expect(sent.reduce((a, b) => a + b, 0)).toBe(40);
    expect(sent[0] + sent[2]).toBeGreaterThan(0);
    expect(sent[1] + sent[3]).toBeGreaterThan(0);
    await waitFor(() => received.length >= 40);
    await sleep(300);
    expect(received.map((envelope) => envelope.messageId).sort()).toEqual([...ids].sort());
    expect((await outboxRows()).every((row) => row.sent && row.attempts === 1)).toBe(true);
  });
});

describe('claimMessage', () => {
  it('claims a message once per consumer, and not at all if the transaction rolls back', async () => {
    const claim = (messageId: string, consumer: string) =>
      dataSource.transaction((manager) => claimMessage(manager, schema, messageId, consumer));

    expect(await claim('m-1', 'registry')).toBe(true);
    expect(await claim('m-1', 'registry')).toBe(false);
    expect(await claim('m-1', 'inference')).toBe(true);

    await expect(
      dataSource.transaction(async (manager) => {
        expect(await claimMessage(manager, schema, 'm-2', 'registry')).toBe(true);
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(await claim('m-2', 'registry')).toBe(true);
  });
});
