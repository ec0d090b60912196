import { createEventBus, EventBus, Topology } from '@sepal/messaging';
import { Channel, ChannelModel, connect } from 'amqplib';

export const TEST_AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Deletes what a test run declared in its namespace: the events exchange and, for each logical queue, the queue and
 * its dead-letter queue (auto-delete broadcast queues go by themselves, and so does each app's own exchange once no
 * queue is bound to it). Missing ones are ignored.
 */
export async function deleteNamespace(
  amqpUrl: string,
  namespace: string,
  queues: string[] = [],
): Promise<void> {
  const topology = new Topology(namespace);
  const targets = [
    ...queues.flatMap((queue) => [topology.queue(queue), topology.deadLetterQueue(queue)]).map(queueTarget),
    exchangeTarget(topology.exchange),
  ];
  const connection = await connect(amqpUrl);
  connection.on('error', () => undefined);
  try {
    for (const target of targets) {
      // A failed deletion closes its channel, so each deletion gets its own.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await (
        target.kind === 'queue' ? channel.deleteQueue(target.name) : channel.deleteExchange(target.name)
      ).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

const queueTarget = (name: string) => ({ kind: 'queue' as const, name });
const exchangeTarget = (name: string) => ({ kind: 'exchange' as const, name });

/**
 * A bus that stands for the test itself, to publish what an app would (or listen beside it): its identity, `test`,
 * is no app's, so consumers accept whatever it publishes in process and, logged in as guest, on RabbitMQ (the shared
 * development identity; see docs/messaging.md). An app's own bus may publish only the events its app owns.
 */
export function createTestBus(namespace: string, amqpUrl?: string): EventBus {
  return createEventBus({ amqpUrl, namespace, serviceName: 'test' });
}

/** What the broker answered an operation it refused (it closes the operation's channel). */
export interface BrokerRefusal {
  /** The AMQP reply code: 403 ACCESS_REFUSED, 405 RESOURCE_LOCKED, 406 PRECONDITION_FAILED... */
  code?: number;
  message: string;
}

/** Runs `action` on a fresh channel of `connection`: resolves with the broker's refusal, or undefined if allowed. */
export async function brokerRefusal(
  connection: ChannelModel,
  action: (channel: Channel) => Promise<unknown>,
): Promise<BrokerRefusal | undefined> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    await action(channel);
    await channel.close();
    return undefined;
  } catch (error) {
    return { code: (error as { code?: number }).code, message: (error as Error).message };
  }
}
