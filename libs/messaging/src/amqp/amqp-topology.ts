import type { Channel, Options } from 'amqplib';
import { SubscriptionSpec } from '../event-bus';
import { Topology } from '../topology';

export async function assertExchanges(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true });
}

/**
 * Declares the consuming queue bound to its patterns and the durable dead-letter queue it feeds. A broadcast queue
 * dead-letters to the shared `<queue>.dlq`, so the failures of every replica are inspected in one place.
 */
export async function assertSubscriptionQueues(
  channel: Channel,
  topology: Topology,
  spec: SubscriptionSpec,
  queueName: string,
): Promise<void> {
  const deadLetterRoutingKey = topology.deadLetterRoutingKey(spec.queue);
  const deadLetterQueue = topology.deadLetterQueue(spec.queue);
  await channel.assertQueue(deadLetterQueue, { durable: true });
  await channel.bindQueue(deadLetterQueue, topology.deadLetterExchange, deadLetterRoutingKey);

  const deadLettering: Options.AssertQueue = {
    deadLetterExchange: topology.deadLetterExchange,
    deadLetterRoutingKey,
  };
  await channel.assertQueue(
    queueName,
    spec.broadcast
      ? { ...deadLettering, durable: false, exclusive: true, autoDelete: true }
      : { ...deadLettering, durable: true },
  );
  for (const pattern of spec.patterns) await channel.bindQueue(queueName, topology.exchange, pattern);
}
