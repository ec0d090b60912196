import type { Channel, Options } from 'amqplib';
import { SubscriptionSpec } from '../event-bus';
import { describeError } from '../describe-error';
import { Topology } from '../topology';

export async function assertExchanges(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
}

/** How a bus declares its work queues on RabbitMQ. */
export interface WorkQueueSettings {
  quorum: boolean;
  deliveryLimit: number;
}

/**
 * The arguments of a queue: a work queue (durable, competing consumers) is a quorum queue with a delivery limit when
 * `quorum` is on, so a message that kills its consumer every time is dead-lettered by the broker instead of being
 * redelivered forever; a broadcast queue stays classic (exclusive, auto-delete: quorum queues can be neither).
 */
export function queueOptions(
  topology: Topology,
  spec: SubscriptionSpec,
  settings: WorkQueueSettings,
): Options.AssertQueue {
  const deadLettering: Options.AssertQueue = {
    deadLetterExchange: topology.queueExchange(spec.queue),
    deadLetterRoutingKey: topology.deadLetterRoutingKey(spec.queue),
  };
  if (spec.broadcast) return { ...deadLettering, durable: false, exclusive: true, autoDelete: true };
  if (!settings.quorum) return { ...deadLettering, durable: true };
  return {
    ...deadLettering,
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': settings.deliveryLimit },
  };
}

/**
 * Declares the app's exchange, the consuming queue bound to its patterns (and to the app's exchange for its retry
 * copies), and the durable dead-letter queue it feeds. A broadcast queue dead-letters to the shared `<queue>.dlq`,
 * so the failures of every replica are inspected in one place.
 */
export async function assertSubscriptionQueues(
  channel: Channel,
  topology: Topology,
  spec: SubscriptionSpec,
  queueName: string,
  settings: WorkQueueSettings,
): Promise<void> {
  const appExchange = topology.queueExchange(spec.queue);
  // Auto-delete: it lives as long as a queue is bound to it, so a test namespace leaves nothing behind.
  await channel.assertExchange(appExchange, 'direct', { durable: true, autoDelete: true });
  const deadLetterQueue = topology.deadLetterQueue(spec.queue);
  await channel.assertQueue(deadLetterQueue, { durable: true });
  await channel.bindQueue(deadLetterQueue, appExchange, topology.deadLetterRoutingKey(spec.queue));
  try {
    await channel.assertQueue(queueName, queueOptions(topology, spec, settings));
  } catch (error) {
    throw isInequivalent(error) ? new QueueMigrationError(queueName, appExchange, settings, error) : error;
  }
  for (const pattern of spec.patterns) await channel.bindQueue(queueName, topology.exchange, pattern);
  await channel.bindQueue(queueName, appExchange, topology.retryRoutingKey(queueName));
}

/** The broker refused to redeclare a queue that exists with other arguments (406 PRECONDITION_FAILED). */
export class QueueMigrationError extends Error {
  constructor(queueName: string, exchange: string, settings: WorkQueueSettings, cause: unknown) {
    super(
      `queue '${queueName}' already exists with other arguments than this version declares ` +
        `(${describeError(cause)}). Work queues are ${kind(settings)} that dead-letter through their app's ` +
        `exchange ${exchange} (no longer sepal.dlx): move the existing queue once as docs/messaging.md ` +
        '"Moving existing queues" shows (drain or shovel its messages, delete it, start the app again)',
      { cause },
    );
    this.name = 'QueueMigrationError';
  }
}

function kind(settings: WorkQueueSettings): string {
  return settings.quorum
    ? `quorum queues (x-delivery-limit ${settings.deliveryLimit})`
    : 'classic queues (AMQP_QUORUM_QUEUES=false)';
}

function isInequivalent(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === 406 &&
    /inequivalent arg/.test(describeError(error))
  );
}
