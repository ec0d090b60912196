/**
 * The broker-side fixtures of the AMQP transport tests (amqp-event-transport.test.ts, amqp-publisher-confirms.test.ts):
 * Nest apps consuming through the transport, recording what their handlers receive, and the buses and proxies to close.
 */
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
  Topology,
} from '@sepal/messaging';
import { deleteNamespace, sleep, TcpProxy, TEST_AMQP_URL, uniqueNamespace } from '@sepal/testing';
import { Channel, ChannelModel, connect } from 'amqplib';

export const namespace = uniqueNamespace('msg');
export const topology = new Topology(namespace);
export const QUEUES = [
  'trainer.jobs',
  'inference.models',
  'flaky',
  'strict',
  'slow',
  'reconnect',
  'raw.confirms',
];
export const APP_NAME = 'APP_NAME';

export interface Received {
  app: string;
  handler: string;
  envelope: EventEnvelope;
  attempt: number;
  redelivered: boolean;
}
export const received: Received[] = [];
export const receivedBy = (handler: string): Received[] => received.filter((r) => r.handler === handler);

/** Handlers of app "C" on the `slow` queue block until this is resolved. */
export let releaseSlowHandler: () => void = () => undefined;

export abstract class Recording {
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
export class PipelineConsumers extends Recording {
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
export class SlowConsumer extends Recording {
  @ConsumeEvent(EventNames.RunFinished, { queue: 'slow' })
  async finished(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('slow', envelope, context);
    if (this.appName === 'C') await new Promise<void>((resolve) => (releaseSlowHandler = resolve));
  }
}

@Controller()
export class FeedbackConsumer extends Recording {
  @ConsumeEvent(EventNames.FeedbackReceived, { queue: 'reconnect' })
  async feedback(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    this.record('feedback', envelope, context);
  }
}

export const apps: INestApplication[] = [];
export const buses: EventBus[] = [];
export const proxies: TcpProxy[] = [];

export function busOptions(overrides: Partial<MessagingOptions> = {}): MessagingOptions {
  return {
    amqpUrl: TEST_AMQP_URL,
    namespace,
    serviceName: 'messaging-test',
    retryDelayMs: 50,
    reconnectDelayMs: 200,
    ...overrides,
  };
}

export async function startApp(
  name: string,
  controllers: unknown[],
  overrides: Partial<MessagingOptions> = {},
) {
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

export function newBus(overrides: Partial<MessagingOptions> = {}): AmqpEventBus {
  const bus = new AmqpEventBus(busOptions(overrides));
  buses.push(bus);
  return bus;
}

export async function newProxy(): Promise<TcpProxy> {
  const url = new URL(TEST_AMQP_URL);
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5672) });
  await proxy.start();
  proxies.push(proxy);
  return proxy;
}

export let publisher: AmqpEventBus;
export let raw: ChannelModel;
export let rawChannel: Channel;

/** Registers the hooks of a test file: apps A and B consuming, a publisher and a raw channel; all closed after. */
export function useAmqpTestApps(): void {
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
}
