/** The AMQP transport's publisher confirms: resolved when the broker holds the message, rejected when it refuses. */
import { EventNames } from '@sepal/contracts';
import { sampleEventPayload, sleep, TEST_AMQP_URL, waitFor } from '@sepal/testing';
import { newBus, newProxy, publisher, rawChannel, topology, useAmqpTestApps } from './amqp-test-apps';

jest.setTimeout(30_000);

useAmqpTestApps();

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
