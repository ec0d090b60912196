/*
 * On the real RabbitMQ: work queues are quorum queues whose delivery limit dead-letters a poison message, broadcast
 * queues stay classic, an old classic queue fails with how to move it, and a consumer dead-letters (with the reason)
 * an event whose AMQP user-id is not an owner of its type.
 */
import { Logger } from '@nestjs/common';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import {
  AmqpEventBus,
  EventBus,
  MessagingOptions,
  RequeueDelivery,
  SepalHeaders,
  Topology,
} from '@sepal/messaging';
import {
  brokerRefusal,
  deleteNamespace,
  sampleEventPayload,
  TEST_AMQP_URL,
  uniqueNamespace,
  waitFor,
} from '@sepal/testing';
import { Channel, ChannelModel, connect } from 'amqplib';

jest.setTimeout(30_000);

const namespace = uniqueNamespace('msgq');
const topology = new Topology(namespace);
const QUEUES = [
  'trainer.poison',
  'inference.promoted',
  'inference.broadcast',
  'inference.owned',
  'registry.legacy',
];
const buses: EventBus[] = [];
let raw: ChannelModel;

function newBus(overrides: Partial<MessagingOptions> = {}): AmqpEventBus {
  const bus = new AmqpEventBus({
    amqpUrl: TEST_AMQP_URL,
    namespace,
    serviceName: 'queues-test',
    retryDelayMs: 20,
    ...overrides,
  });
  buses.push(bus);
  return bus;
}

const attempt = (action: (channel: Channel) => Promise<unknown>) => brokerRefusal(raw, action);

beforeAll(async () => {
  Logger.overrideLogger(['error']);
  raw = await connect(TEST_AMQP_URL);
  raw.on('error', () => undefined);
});

afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await raw.close();
  await deleteNamespace(TEST_AMQP_URL, namespace, QUEUES);
});

describe('quorum work queues', () => {
  it('declares a work queue as a quorum queue and a broadcast queue as a classic one', async () => {
    const bus = newBus();
    await bus.subscribe({ queue: 'inference.promoted', patterns: ['model.promoted'] }, async () => undefined);
    const broadcast = await bus.subscribe(
      { queue: 'inference.broadcast', patterns: ['model.promoted'], broadcast: true },
      async () => undefined,
    );
    // Redeclaring with another queue type is refused: the broker holds each queue as the type declared.
    const asClassic = await attempt((c) =>
      c.assertQueue(topology.queue('inference.promoted'), {
        durable: true,
        deadLetterExchange: topology.queueExchange('inference.promoted'),
        deadLetterRoutingKey: topology.deadLetterRoutingKey('inference.promoted'),
        arguments: { 'x-queue-type': 'classic', 'x-delivery-limit': 10 },
      }),
    );
    expect(asClassic?.code).toBe(406);
    expect(asClassic?.message).toMatch(/x-queue-type.*received 'classic' but current is 'quorum'/);
    // The broadcast queue is exclusive to the bus's connection, which only a classic queue can be.
    const locked = await attempt((c) => c.checkQueue(broadcast.queueName));
    expect(locked?.code).toBe(405);
    expect(locked?.message).toMatch(/RESOURCE_LOCKED - cannot obtain exclusive access/);
  });

  it('dead-letters a poison message once the broker has delivered it more times than the delivery limit', async () => {
    const bus = newBus({ deliveryLimit: 2 });
    let deliveries = 0;
    // A consumer that never settles the message (as if its process died each time): it is handed back every time.
    await bus.subscribe({ queue: 'trainer.poison', patterns: ['train.requested'] }, async () => {
      deliveries++;
      throw new RequeueDelivery('crashing on this message');
    });
    const messageId = await bus.publish(EventNames.TrainRequested, { dataset: 'poison' });

    await waitFor(async () => (await bus.deadLetterCount('trainer.poison')) === 1, { timeoutMs: 10_000 });
    expect(deliveries).toBe(3); // the first delivery and two redeliveries, then the broker gave up
    const [deadLetter] = await bus.deadLetters('trainer.poison');
    expect(deadLetter.envelope?.messageId).toBe(messageId);
    expect(deadLetter.error).toMatch(
      /dead-lettered by the broker: delivered more times than .*x-delivery-limit/,
    );
  });

  it('fails to consume an existing classic queue of the same name, saying how to move it', async () => {
    const legacy = await attempt(async (c) => {
      await c.assertQueue(topology.queue('registry.legacy'), {
        durable: true,
        deadLetterExchange: `${namespace}.sepal.dlx`,
      });
    });
    expect(legacy).toBeUndefined();
    await expect(
      newBus().subscribe({ queue: 'registry.legacy', patterns: ['run.finished'] }, async () => undefined),
    ).rejects.toThrow(
      /queue '.*registry\.legacy' already exists with other arguments .* quorum queues .* docs\/messaging\.md "Moving existing queues"/,
    );
  });
});

describe('producer identity', () => {
  it('stamps the AMQP user-id of its login on every message', async () => {
    const queue = topology.queue('inference.stamped');
    const observed = await raw.createChannel();
    await observed.assertQueue(queue, { exclusive: true });
    await observed.bindQueue(queue, topology.exchange, EventNames.DriftDetected);
    await newBus().publish(EventNames.DriftDetected, sampleEventPayload(EventNames.DriftDetected));
    let message = await observed.get(queue, { noAck: true });
    for (let i = 0; !message && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      message = await observed.get(queue, { noAck: true });
    }
    expect(message && message.properties.userId).toBe(new URL(TEST_AMQP_URL).username || 'guest');
    await observed.close();
  });

  it("dead-letters, with the reason, an event whose user-id is not an owner of its type, and acts on the owner's", async () => {
    const login = new URL(TEST_AMQP_URL).username || 'guest';
    const handled: EventEnvelope[] = [];
    // This gateway's deployment says the broker user `login` is the data app's: identities are enforced.
    const gateway = newBus({ serviceName: 'inference', producers: { [login]: 'data' } });
    await gateway.subscribe(
      { queue: 'inference.owned', patterns: ['model.promoted', 'dataset.versioned'] },
      async (e) => {
        handled.push(e);
      },
    );

    const forged = await newBus().publish(
      EventNames.ModelPromoted,
      sampleEventPayload(EventNames.ModelPromoted),
    );
    const owned = await newBus().publish(
      EventNames.DatasetVersioned,
      sampleEventPayload(EventNames.DatasetVersioned),
    );

    await waitFor(
      async () => (await gateway.deadLetterCount('inference.owned')) === 1 && handled.length === 1,
    );
    expect(handled.map((e) => e.messageId)).toEqual([owned]);
    const [deadLetter] = await gateway.deadLetters('inference.owned');
    expect(deadLetter).toMatchObject({ attempts: 0, producer: login, queue: 'inference.owned' });
    expect(deadLetter.envelope?.messageId).toBe(forged);
    expect(deadLetter.error).toBe(
      `refused: producer '${login}' is the data app, which does not own model.promoted (owners: registry)`,
    );
    // The reason travels in the dead letter's headers.
    const channel = await raw.createChannel();
    const message = await channel.get(topology.deadLetterQueue('inference.owned'), { noAck: false });
    expect(message && message.properties.headers).toMatchObject({
      [SepalHeaders.Error]: deadLetter.error,
      [SepalHeaders.Producer]: login,
    });
    await channel.close(); // unacked: it stays in the dead-letter queue
  });
});
