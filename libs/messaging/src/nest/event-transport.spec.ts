import { Controller, INestApplication, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { EventEnvelope, EventNames } from '@sepal/contracts';
import { sampleEventPayload, sleep, uniqueNamespace, waitFor } from '@sepal/testing';
import { Observable, timer, map } from 'rxjs';
import { EventBus } from '../event-bus';
import { InProcessEventBus } from '../in-process/in-process-event-bus';
import { EventContext } from './event-context';
import { EventTransport } from './event-transport';
import { MessagingModule } from './messaging.module';
import { ConsumeEvent } from './consume-event.decorator';

const calls: { handler: string; envelope: EventEnvelope; attempt: number }[] = [];

@Controller()
class TestConsumers {
  @ConsumeEvent(EventNames.TrainRequested, { queue: 'trainer.jobs' })
  async train(
    @Payload() envelope: EventEnvelope<'train.requested'>,
    @Ctx() context: EventContext,
  ): Promise<void> {
    calls.push({ handler: 'train', envelope, attempt: context.getAttempt() });
  }

  @ConsumeEvent(EventNames.TrainRequested, { queue: 'audit' })
  auditTrain(@Payload() envelope: EventEnvelope): Observable<void> {
    // An observable result is awaited like a promise.
    return timer(5).pipe(map(() => void calls.push({ handler: 'audit', envelope, attempt: 1 })));
  }

  @ConsumeEvent('training.*', { queue: 'audit' })
  async auditTraining(@Payload() envelope: EventEnvelope): Promise<void> {
    calls.push({ handler: 'audit-training', envelope, attempt: 1 });
  }

  @ConsumeEvent(EventNames.DriftDetected, { queue: 'drift', maxRetries: 1 })
  async drift(@Payload() envelope: EventEnvelope, @Ctx() context: EventContext): Promise<void> {
    calls.push({ handler: 'drift', envelope, attempt: context.getAttempt() });
    throw new Error(`cannot handle drift of ${(envelope.payload as { modelName: string }).modelName}`);
  }
}

describe('EventTransport (in-process bus, through a Nest microservice)', () => {
  let app: INestApplication;
  let bus: EventBus;

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({ serviceName: 'test', namespace: uniqueNamespace('unit'), retryDelayMs: 5 }),
      ],
      controllers: [TestConsumers],
    }).compile();
    app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] });
    app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.init();
    bus = app.get(EventBus);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => {
    calls.length = 0;
  });

  it('calls each queue’s handler once with the validated envelope', async () => {
    const messageId = await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await waitFor(() => calls.length === 2);
    await sleep(30);

    expect(calls.map((c) => c.handler).sort()).toEqual(['audit', 'train']);
    const train = calls.find((c) => c.handler === 'train');
    expect(train?.envelope).toMatchObject({
      messageId,
      type: 'train.requested',
      payload: { reason: 'manual' },
    });
    expect(train?.attempt).toBe(1);
  });

  it('dispatches a queue bound to several patterns by the event type', async () => {
    await bus.publish(EventNames.TrainingProgress, sampleEventPayload(EventNames.TrainingProgress));
    await waitFor(() => calls.length === 1);
    await sleep(30);
    expect(calls.map((c) => c.handler)).toEqual(['audit-training']);
  });

  it('retries a throwing handler and dead-letters it with the original error message', async () => {
    await bus.publish(EventNames.DriftDetected, sampleEventPayload(EventNames.DriftDetected));
    await waitFor(async () => (await bus.deadLetterCount('drift')) === 1);

    expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
    const [deadLetter] = await bus.deadLetters('drift');
    expect(deadLetter.error).toBe('cannot handle drift of iris-classifier');
    expect(deadLetter.attempts).toBe(2);
  });

  it('stops consuming when the application closes', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ serviceName: 'short-lived', namespace: uniqueNamespace('unit') })],
      controllers: [TestConsumers],
    }).compile();
    const shortLived = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] });
    shortLived.connectMicroservice({ strategy: shortLived.get(EventTransport) });
    await shortLived.startAllMicroservices();
    const shortLivedBus = shortLived.get(EventBus);
    await shortLived.close();

    expect(shortLivedBus.isConnected()).toBe(false);
    await expect(shortLivedBus.publish(EventNames.TrainRequested, { dataset: 'iris' })).rejects.toThrow(
      /closed/,
    );
  });

  it('builds the bus from options resolved by forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRootAsync({ useFactory: async () => ({ serviceName: 'async', maxRetries: 1 }) }),
      ],
    }).compile();
    expect(moduleRef.get(EventBus)).toBeInstanceOf(InProcessEventBus);
    await moduleRef.close();
  });
});
