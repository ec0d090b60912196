import { Logger } from '@nestjs/common';
import { EventEnvelope, EventNames, InvalidEventError } from '@sepal/contracts';
import { sampleEventPayload, sleep, waitFor } from '@sepal/testing';
import { DeliveryInfo, EnvelopeHandler, EventBus } from '../event-bus';
import { MessagingOptions } from '../messaging-options';
import { Topology } from '../topology';
import { getSharedInProcessBroker, InProcessBroker } from './in-process-broker';
import { InProcessEventBus } from './in-process-event-bus';

describe('InProcessEventBus', () => {
  let broker: InProcessBroker;
  const buses: EventBus[] = [];

  /** Each bus stands for one process (app replica); they share the test's broker. */
  function newBus(overrides: Partial<MessagingOptions> = {}): InProcessEventBus {
    const bus = new InProcessEventBus({ serviceName: 'test', retryDelayMs: 5, ...overrides }, broker);
    buses.push(bus);
    return bus;
  }

  function collect(received: EventEnvelope[]): EnvelopeHandler {
    return async (envelope) => {
      received.push(envelope);
    };
  }

  beforeAll(() => {
    Logger.overrideLogger(['error']);
  });

  beforeEach(() => {
    broker = new InProcessBroker();
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  it('gives each message of a work queue to exactly one of its competing consumers, round-robin', async () => {
    const [first, second, publisher] = [newBus(), newBus(), newBus()];
    const receivedByFirst: EventEnvelope[] = [];
    const receivedBySecond: EventEnvelope[] = [];
    await first.subscribe({ queue: 'trainer.jobs', patterns: ['train.requested'] }, collect(receivedByFirst));
    await second.subscribe(
      { queue: 'trainer.jobs', patterns: ['train.requested'] },
      collect(receivedBySecond),
    );

    const published = await Promise.all(
      Array.from({ length: 20 }, () => publisher.publish(EventNames.TrainRequested, { dataset: 'iris' })),
    );
    await waitFor(() => receivedByFirst.length + receivedBySecond.length >= 20);
    await sleep(20);

    const handled = [...receivedByFirst, ...receivedBySecond].map((envelope) => envelope.messageId);
    expect(handled.sort()).toEqual([...published].sort());
    expect(receivedByFirst).toHaveLength(10);
    expect(receivedBySecond).toHaveLength(10);
  });

  it('delivers a broadcast to every subscriber', async () => {
    const replicas = [newBus(), newBus(), newBus()];
    const received = replicas.map(() => [] as EventEnvelope[]);
    for (const [index, replica] of replicas.entries()) {
      await replica.subscribe(
        { queue: 'inference.models', patterns: ['model.promoted'], broadcast: true },
        collect(received[index]),
      );
    }
    const messageId = await replicas[0].publish(
      EventNames.ModelPromoted,
      sampleEventPayload(EventNames.ModelPromoted),
    );

    await waitFor(() => received.every((envelopes) => envelopes.length === 1));
    await sleep(20);
    for (const envelopes of received) expect(envelopes.map((e) => e.messageId)).toEqual([messageId]);
  });

  it('routes by topic pattern', async () => {
    const bus = newBus();
    const received: EventEnvelope[] = [];
    await bus.subscribe({ queue: 'registry.training', patterns: ['training.*'] }, collect(received));

    await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await bus.publish(EventNames.TrainingStarted, sampleEventPayload(EventNames.TrainingStarted));
    await bus.publish(EventNames.TrainingProgress, sampleEventPayload(EventNames.TrainingProgress));

    await waitFor(() => received.length === 2);
    await sleep(20);
    expect(received.map((e) => e.type)).toEqual([EventNames.TrainingStarted, EventNames.TrainingProgress]);
  });

  it('retries a failing handler maxRetries times, then dead-letters the message with the error', async () => {
    const bus = newBus({ maxRetries: 2 });
    const attempts: DeliveryInfo[] = [];
    await bus.subscribe(
      { queue: 'trainer.jobs', patterns: ['train.requested'] },
      async (_envelope, delivery) => {
        attempts.push(delivery);
        throw new Error('GPU on fire');
      },
    );

    const messageId = await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await waitFor(async () => (await bus.deadLetterCount('trainer.jobs')) === 1);
    await sleep(30);

    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [deadLetter] = await bus.deadLetters('trainer.jobs');
    expect(deadLetter).toMatchObject({ error: 'GPU on fire', attempts: 3, queue: 'trainer.jobs' });
    expect(deadLetter.envelope?.messageId).toBe(messageId);
    expect(deadLetter.failedAt).not.toBe('');
  });

  it("retries through the consuming app's own exchange, keeping the original producer for the owner check", async () => {
    const registry = newBus({ serviceName: 'registry', maxRetries: 1 });
    const trainer = newBus({ serviceName: 'trainer' });
    const attempts: number[] = [];
    await registry.subscribe(
      { queue: 'registry.training', patterns: ['run.finished'] },
      async (_e, delivery) => {
        attempts.push(delivery.attempt);
        throw new Error('database restarting');
      },
    );

    await trainer.publish(EventNames.RunFinished, sampleEventPayload(EventNames.RunFinished));
    await waitFor(async () => (await registry.deadLetterCount('registry.training')) === 1);
    // The retry copy was sent by the registry's bus, yet it was handled as the trainer's event, not refused.
    expect(attempts).toEqual([1, 2]);
    const [deadLetter] = await registry.deadLetters('registry.training');
    expect(deadLetter).toMatchObject({ error: 'database restarting', attempts: 2, producer: 'trainer' });
  });

  it("dead-letters, with the reason, an event published by an app's bus that does not own it", async () => {
    const inference = newBus({ serviceName: 'inference' });
    const data = newBus({ serviceName: 'data' });
    const handler = jest.fn();
    await inference.subscribe({ queue: 'inference.model-promoted', patterns: ['model.promoted'] }, handler);

    await data.publish(EventNames.ModelPromoted, sampleEventPayload(EventNames.ModelPromoted));
    await waitFor(async () => (await inference.deadLetterCount('inference.model-promoted')) === 1);
    expect(handler).not.toHaveBeenCalled();
    const [deadLetter] = await inference.deadLetters('inference.model-promoted');
    expect(deadLetter).toMatchObject({ attempts: 0, producer: 'data' });
    expect(deadLetter.error).toBe(
      "refused: producer 'data' is the data app, which does not own model.promoted (owners: registry)",
    );

    // The owner's bus, and a bus that is no app's (a test, a tool), are heard.
    await newBus({ serviceName: 'registry' }).publish(
      EventNames.ModelPromoted,
      sampleEventPayload(EventNames.ModelPromoted),
    );
    await newBus().publish(EventNames.ModelPromoted, sampleEventPayload(EventNames.ModelPromoted));
    await waitFor(() => handler.mock.calls.length === 2);
  });

  it('lets a per-queue maxRetries override the bus default, and acks once a retry succeeds', async () => {
    const bus = newBus({ maxRetries: 5 });
    let calls = 0;
    await bus.subscribe({ queue: 'flaky', patterns: ['train.requested'], maxRetries: 0 }, async () => {
      calls++;
      throw new Error('no retries for me');
    });
    const recovered: number[] = [];
    await bus.subscribe({ queue: 'recovering', patterns: ['train.requested'] }, async (_e, delivery) => {
      recovered.push(delivery.attempt);
      if (delivery.attempt < 2) throw new Error('transient');
    });

    await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await waitFor(async () => (await bus.deadLetterCount('flaky')) === 1 && recovered.length === 2);
    await sleep(30);

    expect(calls).toBe(1);
    expect(recovered).toEqual([1, 2]);
    expect(await bus.deadLetterCount('recovering')).toBe(0);
  });

  it('dead-letters an invalid message at once with the reason, without calling the handler', async () => {
    const bus = newBus();
    const handler = jest.fn(async () => undefined);
    await bus.subscribe({ queue: 'inference.models', patterns: ['#'] }, handler);
    const exchange = new Topology().exchange;
    const promoted = { ...sampleEventPayload(EventNames.ModelPromoted), version: -1 };
    const badEnvelope = {
      messageId: 'm-1',
      type: 'model.promoted',
      timestamp: new Date().toISOString(),
      correlationId: 'c-1',
      payload: promoted,
    };
    broker.publish(exchange, 'model.promoted', { body: JSON.stringify(badEnvelope), headers: {} });
    broker.publish(exchange, 'model.promoted', { body: '{not json', headers: {} });

    await waitFor(async () => (await bus.deadLetterCount('inference.models')) === 2);
    await sleep(30);

    const [invalidPayload, notJson] = await bus.deadLetters('inference.models');
    expect(invalidPayload.error).toMatch(/invalid model\.promoted: version/);
    expect(invalidPayload.attempts).toBe(0);
    expect(invalidPayload.raw).toEqual(badEnvelope);
    expect(notJson.error).toMatch(/not valid JSON/);
    expect(notJson.raw).toBe('{not json');
    expect(handler).not.toHaveBeenCalled();
  });

  it('acks only when the handler resolves: a consumer with prefetch 1 gets the next message only then', async () => {
    const bus = newBus({ prefetch: 1 });
    const started: string[] = [];
    let release!: () => void;
    const firstDone = new Promise<void>((resolve) => (release = resolve));
    await bus.subscribe({ queue: 'slow', patterns: ['train.requested'] }, async (envelope) => {
      started.push(envelope.messageId);
      if (started.length === 1) await firstDone;
    });

    const first = await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    const second = await bus.publish(EventNames.TrainRequested, { dataset: 'wine' });
    await waitFor(() => started.length === 1);
    await sleep(30);
    expect(started).toEqual([first]);

    release();
    await waitFor(() => started.length === 2);
    expect(started).toEqual([first, second]);
  });

  it('keeps messages of a durable queue while it has no consumer', async () => {
    const bus = newBus();
    const received: EventEnvelope[] = [];
    const subscription = await bus.subscribe(
      { queue: 'trainer.jobs', patterns: ['train.requested'] },
      collect(received),
    );
    await subscription.close();

    const messageId = await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await sleep(20);
    expect(received).toHaveLength(0);

    await bus.subscribe({ queue: 'trainer.jobs', patterns: ['train.requested'] }, collect(received));
    await waitFor(() => received.length === 1);
    expect(received[0].messageId).toBe(messageId);
  });

  it('shares nothing by reference: each subscriber gets its own copy of the message', async () => {
    const bus = newBus();
    const received: EventEnvelope[] = [];
    await bus.subscribe({ queue: 'a', patterns: ['feedback.received'] }, async (envelope) => {
      (envelope.payload as { label: string }).label = 'mutated';
      received.push(envelope);
    });
    await bus.subscribe({ queue: 'b', patterns: ['feedback.received'] }, collect(received));
    const payload = sampleEventPayload(EventNames.FeedbackReceived);

    await bus.publish(EventNames.FeedbackReceived, payload);
    await waitFor(() => received.length === 2);

    const labels = received.map((envelope) => (envelope.payload as { label: string }).label).sort();
    expect(labels).toEqual(['mutated', 'setosa']);
    expect(payload.label).toBe('setosa');
  });

  it('validates before sending: an invalid payload throws and nothing is delivered', async () => {
    const bus = newBus();
    const handler = jest.fn(async () => undefined);
    await bus.subscribe({ queue: 'all', patterns: ['#'] }, handler);

    await expect(bus.publish(EventNames.TrainRequested, { dataset: '' })).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    await expect(bus.publish('no.such.event' as never, {} as never)).rejects.toThrow(/unknown event type/);
    await sleep(30);
    expect(handler).not.toHaveBeenCalled();
  });

  it('keeps namespaces apart and attaches to one process-wide broker by default', async () => {
    expect(getSharedInProcessBroker()).toBe(getSharedInProcessBroker());
    const left = new InProcessEventBus({ serviceName: 'left', namespace: 'ns_left' });
    const right = new InProcessEventBus({ serviceName: 'right', namespace: 'ns_right' });
    buses.push(left, right);
    const heardLeft: EventEnvelope[] = [];
    const heardRight: EventEnvelope[] = [];
    await left.subscribe({ queue: 'q', patterns: ['#'] }, collect(heardLeft));
    await right.subscribe({ queue: 'q', patterns: ['#'] }, collect(heardRight));

    await left.publish(EventNames.TrainRequested, { dataset: 'iris' });
    await waitFor(() => heardLeft.length === 1);
    await sleep(20);
    expect(heardRight).toHaveLength(0);
  });

  it('rejects publishing after close', async () => {
    const bus = newBus();
    await bus.close();
    expect(bus.isConnected()).toBe(false);
    await expect(bus.publish(EventNames.TrainRequested, { dataset: 'iris' })).rejects.toThrow(/closed/);
  });
});
