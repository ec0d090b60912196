import { Controller, Inject, INestApplication, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import {
  AmqpEventBus,
  EventBus,
  EventContext,
  EventTransport,
  MessagingModule,
  MessagingOptions,
  ConsumeEvent,
  SepalHeaders,
  Topology,
} from '@sepal/messaging';
import {
  deleteNamespace,
  sampleEventPayload,
  sleep,
  TcpProxy,
  TEST_AMQP_URL,
  uniqueNamespace,
  waitFor,
} from '@sepal/testing';
import { Channel, ChannelModel, connect } from 'amqplib';

jest.setTimeout(30_000);

const namespace = uniqueNamespace('msg');
const topology = new Topology(namespace);
const QUEUES = ['trainer.jobs', 'inference.models', 'flaky', 'strict', 'slow', 'reconnect', 'raw.confirms'];
const APP_NAME = 'APP_NAME';

interface Received {
  app: string;
  handler: string;
  envelope: EventEnvelope;
  attempt: number;
  redelivered: boolean;
}
const received: Received[] = [];
const receivedBy = (handler: string): Received[] => received.filter((r) => r.handler === handler);

/** Handlers of app "C" on the `slow` queue block until this is resolved. */
let releaseSlowHandler: () => void = () => undefined;

abstract class Recording {
  constructor(@Inject(APP_NAME) private readonly app: string) {}

  protected record(handler: string, envelope: EventEnvelope, context: EventContext): void {
    received.push({
      app: this.app,
      handler,
      envelope,
      attempt: context.getAttempt(),
      redelivered: context.isRedelivered(),
    });
  }

  protected get appName(): string {
    return this.app;
  }
}

@Controller()
class PipelineConsumers extends Recording {
  @ConsumeEvent(EventNames.TrainRequested, { queue: 'trainer.jobs' })
  async train(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('train', envelope, context);
    await sleep(5);
  }

  @ConsumeEvent(EventNames.ModelPromoted, { queue: 'inference.models', broadcast: true })
  async promoted(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('promoted', envelope, context);
  }

  @ConsumeEvent(EventNames.DriftDetected, { queue: 'flaky', maxRetries: 2 })
  async drift(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('drift', envelope, context);
    throw new Error('retraining budget exhausted');
  }

  @ConsumeEvent(EventNames.ModelRegistered, { queue: 'strict' })
  async registered(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('registered', envelope, context);
  }
}

@Controller()
class SlowConsumer extends Recording {
  @ConsumeEvent(EventNames.RunFinished, { queue: 'slow' })
  async finished(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('slow', envelope, context);
    if (this.appName === 'C') await new Promise<void>((resolve) => (releaseSlowHandler = resolve));
  }
}

@Controller()
class FeedbackConsumer extends Recording {
  @ConsumeEvent(EventNames.FeedbackReceived, { queue: 'reconnect' })
  async feedback(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('feedback', envelope, context);
  }
}

const apps: INestApplication[] = [];
const buses: EventBus[] = [];
const proxies: TcpProxy[] = [];

function busOptions(overrides: Partial<MessagingOptions> = {}): MessagingOptions {
  return {
    amqpUrl: TEST_AMQP_URL,
    namespace,
    serviceName: 'messaging-test',
    retryDelayMs: 50,
    reconnectDelayMs: 200,
    ...overrides,
  };
}

async function startApp(name: string, controllers: unknown[], overrides: Partial<MessagingOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [MessagingModule.forRoot(busOptions({ serviceName: `app-${name}`, ...overrides }))],
    controllers: controllers as never[],
    providers: [{ provide: APP_NAME, useValue: name }],
  }).compile();
  const app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] });
  app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.init();
  apps.push(app);
  return app;
}

function newBus(overrides: Partial<MessagingOptions> = {}): AmqpEventBus {
  const bus = new AmqpEventBus(busOptions(overrides));
  buses.push(bus);
  return bus;
}

async function newProxy(): Promise<TcpProxy> {
  const url = new URL(TEST_AMQP_URL);
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5672) });
  await proxy.start();
  proxies.push(proxy);
  return proxy;
}

let publisher: AmqpEventBus;
let raw: ChannelModel;
let rawChannel: Channel;

beforeAll(async () => {
  Logger.overrideLogger(['error']);
  publisher = newBus({ serviceName: 'publisher' });
  raw = await connect(TEST_AMQP_URL);
  rawChannel = await raw.createChannel();
  await startApp('A', [PipelineConsumers]);
  await startApp('B', [PipelineConsumers]);
});

afterAll(async () => {
  releaseSlowHandler();
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(buses.map((bus) => bus.close()));
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await raw.close();
  await deleteNamespace(TEST_AMQP_URL, namespace, QUEUES);
});

beforeEach(() => {
  received.length = 0;
});

describe('work queue (two Nest apps, competing consumers)', () => {
  it('delivers a published event to exactly one handler call', async () => {
    const messageId = await publisher.publish(EventNames.TrainRequested, { dataset: 'iris' });

    await waitFor(() => receivedBy('train').length === 1);
    await sleep(300);
    const calls = receivedBy('train');
    expect(calls).toHaveLength(1);
    expect(calls[0].envelope).toMatchObject({
      messageId,
      type: 'train.requested',
      payload: { dataset: 'iris' },
    });
  });

  it('gives each message to one app only, and both apps get work', async () => {
    const published = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        publisher.publish(EventNames.TrainRequested, { dataset: `d${i}` }),
      ),
    );

    await waitFor(() => receivedBy('train').length >= 30);
    await sleep(300);
    const calls = receivedBy('train');
    expect(calls.map((c) => c.envelope.messageId).sort()).toEqual([...published].sort());
    expect(calls.filter((c) => c.app === 'A').length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.app === 'B').length).toBeGreaterThan(0);
  });
});

describe('broadcast', () => {
  it('delivers each event to every app', async () => {
    const messageId = await publisher.publish(
      EventNames.ModelPromoted,
      sampleEventPayload(EventNames.ModelPromoted),
    );

    await waitFor(() => receivedBy('promoted').length === 2);
    await sleep(300);
    const calls = receivedBy('promoted');
    expect(calls.map((c) => c.app).sort()).toEqual(['A', 'B']);
    expect(calls.every((c) => c.envelope.messageId === messageId)).toBe(true);
  });
});

describe('failures', () => {
  it('retries a throwing handler maxRetries times, then dead-letters it with x-sepal-error', async () => {
    const messageId = await publisher.publish(
      EventNames.DriftDetected,
      sampleEventPayload(EventNames.DriftDetected),
    );

    await waitFor(async () => (await publisher.deadLetterCount('flaky')) === 1, { timeoutMs: 5000 });
    await sleep(200);
    expect(receivedBy('drift').map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(receivedBy('drift').every((c) => c.envelope.messageId === messageId)).toBe(true);

    const [deadLetter] = await publisher.deadLetters('flaky');
    expect(deadLetter).toMatchObject({ error: 'retraining budget exhausted', attempts: 3, queue: 'flaky' });
    expect(deadLetter.envelope?.messageId).toBe(messageId);
    expect(await publisher.deadLetterCount('flaky')).toBe(1); // peeking did not consume it

    const message = await rawChannel.get(topology.deadLetterQueue('flaky'), { noAck: false });
    if (!message) throw new Error('dead-letter queue is empty');
    rawChannel.nack(message, false, true);
    expect(message.properties.messageId).toBe(messageId);
    expect(message.properties.headers).toMatchObject({
      [SepalHeaders.Error]: 'retraining budget exhausted',
      [SepalHeaders.Queue]: 'flaky',
    });
    expect(Date.parse(String(message.properties.headers?.[SepalHeaders.FailedAt]))).not.toBeNaN();
  });

  it('dead-letters an invalid payload at once with the reason, without calling the handler', async () => {
    const invalid = {
      messageId: 'not-validated-1',
      type: EventNames.ModelRegistered,
      timestamp: new Date().toISOString(),
      correlationId: 'corr-1',
      payload: { ...sampleEventPayload(EventNames.ModelRegistered), sha256: 'not-a-sha' },
    };
    rawChannel.publish(topology.exchange, EventNames.ModelRegistered, Buffer.from(JSON.stringify(invalid)));

    await waitFor(async () => (await publisher.deadLetterCount('strict')) === 1);
    await sleep(200);
    expect(receivedBy('registered')).toHaveLength(0);
    const [deadLetter] = await publisher.deadLetters('strict');
    expect(deadLetter.error).toMatch(/invalid model\.registered: sha256: must be a lowercase hex SHA-256/);
    expect(deadLetter.attempts).toBe(0);
    expect(deadLetter.raw).toEqual(invalid);
  });
});

describe('acknowledgement', () => {
  it('acks only after the handler resolves: a consumer dying mid-way gets its message redelivered elsewhere', async () => {
    const proxy = await newProxy();
    await startApp('C', [SlowConsumer], { amqpUrl: proxy.proxiedUrl(TEST_AMQP_URL) });
    const messageId = await publisher.publish(
      EventNames.RunFinished,
      sampleEventPayload(EventNames.RunFinished),
    );
    await waitFor(() => receivedBy('slow').length === 1);
    expect(receivedBy('slow')[0]).toMatchObject({ app: 'C', redelivered: false });

    await startApp('D', [SlowConsumer]);
    await sleep(300);
    expect(receivedBy('slow')).toHaveLength(1); // still unacked at C, so not given to D

    await proxy.interrupt(); // C's connection dies with its handler mid-way
    await waitFor(() => receivedBy('slow').length === 2);
    expect(receivedBy('slow')[1]).toMatchObject({ app: 'D', redelivered: true });
    expect(receivedBy('slow')[1].envelope.messageId).toBe(messageId);

    releaseSlowHandler(); // C's late ack goes nowhere, and nothing breaks
    await sleep(100);
    expect(receivedBy('slow')).toHaveLength(2);
  });
});

describe('publisher confirms', () => {
  const rawQueue = topology.queue('raw.confirms');

  beforeAll(async () => {
    await rawChannel.assertQueue(rawQueue, { durable: true });
    await rawChannel.bindQueue(rawQueue, topology.exchange, EventNames.DatasetVersioned);
  });

  afterEach(async () => {
    await rawChannel.purgeQueue(rawQueue);
  });

  it('resolves once the broker holds the message, sent persistent with its ids as AMQP properties', async () => {
    const messageId = await publisher.publish(
      EventNames.DatasetVersioned,
      sampleEventPayload(EventNames.DatasetVersioned),
      { correlationId: 'run-42' },
    );

    expect((await rawChannel.checkQueue(rawQueue)).messageCount).toBe(1);
    const message = await rawChannel.get(rawQueue, { noAck: true });
    if (!message) throw new Error('queue is empty');
    expect(message.properties).toMatchObject({
      messageId,
      correlationId: 'run-42',
      type: EventNames.DatasetVersioned,
      contentType: 'application/json',
      deliveryMode: 2,
    });
    expect(message.properties.timestamp).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(JSON.parse(message.content.toString())).toMatchObject({ messageId, correlationId: 'run-42' });
  });

  it('does not resolve while the broker is unreachable, and resolves once it confirms after reconnecting', async () => {
    const proxy = await newProxy();
    const bus = newBus({ amqpUrl: proxy.proxiedUrl(TEST_AMQP_URL), serviceName: 'confirms' });
    await waitFor(() => bus.isConnected());
    await proxy.interrupt();
    await waitFor(() => !bus.isConnected());

    let settled = false;
    const publishing = bus
      .publish(EventNames.DatasetVersioned, sampleEventPayload(EventNames.DatasetVersioned))
      .finally(() => (settled = true));
    await sleep(500);
    expect(settled).toBe(false);

    await proxy.resume();
    const messageId = await publishing;
    expect((await rawChannel.checkQueue(rawQueue)).messageCount).toBe(1);
    const message = await rawChannel.get(rawQueue, { noAck: true });
    expect(message && message.properties.messageId).toBe(messageId);
  });

  it('rejects with a clear error when no confirm comes within publishTimeoutMs, and never sends it later', async () => {
    const proxy = await newProxy();
    const bus = newBus({
      amqpUrl: proxy.proxiedUrl(TEST_AMQP_URL),
      serviceName: 'timeout',
      publishTimeoutMs: 300,
    });
    await waitFor(() => bus.isConnected());
    await proxy.interrupt();
    await waitFor(() => !bus.isConnected());

    await expect(
      bus.publish(EventNames.DatasetVersioned, sampleEventPayload(EventNames.DatasetVersioned)),
    ).rejects.toThrow(/dataset\.versioned .* was not confirmed by the broker within 300 ms/);

    await proxy.resume();
    await waitFor(() => bus.isConnected(), { timeoutMs: 5000 });
    await sleep(300);
    expect((await rawChannel.checkQueue(rawQueue)).messageCount).toBe(0);
  });
});

describe('publisher confirms: broker refusal', () => {
  const fullQueue = topology.queue('raw.full');

  afterAll(async () => {
    await rawChannel.deleteQueue(fullQueue);
  });

  it('rejects a publish the broker nacks (a full queue that rejects publishes)', async () => {
    await rawChannel.assertQueue(fullQueue, {
      durable: true,
      maxLength: 1,
      arguments: { 'x-overflow': 'reject-publish' },
    });
    await rawChannel.bindQueue(fullQueue, topology.exchange, EventNames.TrainingStarted);

    await publisher.publish(EventNames.TrainingStarted, sampleEventPayload(EventNames.TrainingStarted));
    await expect(
      publisher.publish(EventNames.TrainingStarted, sampleEventPayload(EventNames.TrainingStarted)),
    ).rejects.toThrow(/publishing training\.started .* failed/);
    expect((await rawChannel.checkQueue(fullQueue)).messageCount).toBe(1);
  });
});

describe('reconnection', () => {
  it('reconnects after an outage, resumes consuming and delivers what was published meanwhile', async () => {
    const proxy = await newProxy();
    const app = await startApp('E', [FeedbackConsumer], { amqpUrl: proxy.proxiedUrl(TEST_AMQP_URL) });
    const appBus = app.get(EventBus);
    const before = await publisher.publish(
      EventNames.FeedbackReceived,
      sampleEventPayload(EventNames.FeedbackReceived),
    );
    await waitFor(() => receivedBy('feedback').length === 1);
    await sleep(200); // the ack is sent after the handler resolved: let it reach the broker before cutting

    await proxy.interrupt();
    await waitFor(() => !appBus.isConnected());
    const fromDisconnectedApp = appBus.publish(
      EventNames.FeedbackReceived,
      sampleEventPayload(EventNames.FeedbackReceived),
    );
    const duringOutage = await publisher.publish(
      EventNames.FeedbackReceived,
      sampleEventPayload(EventNames.FeedbackReceived),
    );
    await sleep(2000);
    expect(receivedBy('feedback')).toHaveLength(1);

    await proxy.resume();
    const publishedByApp = await fromDisconnectedApp;
    await waitFor(() => appBus.isConnected(), { timeoutMs: 5000 });
    const after = await publisher.publish(
      EventNames.FeedbackReceived,
      sampleEventPayload(EventNames.FeedbackReceived),
    );

    await waitFor(() => receivedBy('feedback').length >= 4, { timeoutMs: 5000 });
    await sleep(200);
    expect(
      receivedBy('feedback')
        .map((c) => c.envelope.messageId)
        .sort(),
    ).toEqual([before, duringOutage, publishedByApp, after].sort());
  });
});
