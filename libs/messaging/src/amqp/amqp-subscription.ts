import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { LoggerService } from '@nestjs/common';
import { Delivery, deliver, DeliverySettings } from '../delivery';
import { RequeueDelivery } from '../requeue-delivery';
import { EnvelopeHandler, Subscription, SubscriptionSpec } from '../event-bus';
import { ResolvedMessagingOptions } from '../messaging-options';
import { describeError } from '../describe-error';
import { Topology } from '../topology';
import { assertExchanges, assertSubscriptionQueues, QueueMigrationError } from './amqp-topology';
import { copyProperties } from './message-properties';
import { ProducerPolicy } from '../producer-identity';
import { reportChannelError } from './report-channel-error';

/** Handlers still running when a subscription closes get this long before their channel is closed. */
const DRAIN_TIMEOUT_MS = 10_000;

export interface AmqpSubscriptionDeps {
  manager: AmqpConnectionManager;
  /** The bus's confirm channel: retry copies and dead letters are confirmed before the original is acked. */
  publisher: ChannelWrapper;
  topology: Topology;
  options: ResolvedMessagingOptions;
  /** The bus's login: the user-id of its retry copies and dead letters. */
  login: string;
  producers: ProducerPolicy;
  logger: LoggerService;
  shutdown: AbortSignal;
}

interface DeliveryWithMessage extends Delivery {
  message: ConsumeMessage;
}

/**
 * One consumer on its own channel. The setup (topology + consume) is re-run by amqp-connection-manager after every
 * reconnection; a message is acked on the channel it came from, only after its handler resolved.
 */
export class AmqpSubscription implements Subscription {
  private readonly channel: ChannelWrapper;
  private readonly deliverySettings: DeliverySettings;
  private readonly inFlight = new Set<Promise<void>>();
  private consumer?: { channel: Channel; tag: string };
  private setupError?: unknown;
  /** Rejected by a setup failure no reconnection can repair (a queue to move first): start() gives up at once. */
  private readonly fatal: { promise: Promise<never>; reject(error: Error): void };
  private closing?: Promise<void>;
  private cancelling?: Promise<void>;

  constructor(
    readonly queueName: string,
    private readonly spec: SubscriptionSpec,
    private readonly handler: EnvelopeHandler,
    private readonly deps: AmqpSubscriptionDeps,
  ) {
    this.channel = deps.manager.createChannel({
      name: `consumer:${queueName}`,
      confirm: false,
      setup: this.setup,
    });
    this.channel.on('error', (error: unknown) =>
      reportChannelError(deps.logger, `consumer ${queueName}`, error),
    );
    this.deliverySettings = this.createDeliverySettings();
    let reject: (error: Error) => void = () => undefined;
    const promise = new Promise<never>((_resolve, fail) => (reject = fail));
    promise.catch(() => undefined); // observed by start() only
    this.fatal = { promise, reject };
  }

  /** Resolves once the queue is declared and consumed from (waits for the broker if it is not reachable yet). */
  async start(): Promise<void> {
    try {
      await Promise.race([this.channel.waitForConnect(), this.fatal.promise]);
    } catch (error) {
      await this.channel.close().catch(() => undefined);
      throw error;
    }
    if (!this.consumer) {
      await this.channel.close();
      throw new Error(`cannot consume from ${this.queueName}: ${describeError(this.setupError)}`);
    }
  }

  stopConsuming(): Promise<void> {
    this.cancelling ??= this.channel
      .removeSetup(this.setup, async (channel: Channel) => {
        if (this.consumer?.channel === channel) await channel.cancel(this.consumer.tag);
      })
      .catch((error: unknown) =>
        this.deps.logger.warn(`cancelling ${this.queueName}: ${describeError(error)}`),
      );
    return this.cancelling;
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private readonly setup = async (channel: Channel): Promise<void> => {
    try {
      await assertExchanges(channel, this.deps.topology);
      const { quorumQueues, deliveryLimit } = this.deps.options;
      await assertSubscriptionQueues(channel, this.deps.topology, this.spec, this.queueName, {
        quorum: quorumQueues,
        deliveryLimit,
      });
      await channel.prefetch(this.spec.prefetch ?? this.deps.options.prefetch);
      const { consumerTag } = await channel.consume(
        this.queueName,
        (message) => {
          if (message) this.track(this.handle(channel, message));
        },
        { noAck: false },
      );
      this.consumer = { channel, tag: consumerTag };
    } catch (error) {
      this.setupError = error;
      if (error instanceof QueueMigrationError) this.fatal.reject(error);
      throw error;
    }
  };

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const headers = { ...(message.properties.headers ?? {}) };
    const delivery: DeliveryWithMessage = {
      message,
      body: message.content.toString('utf8'),
      headers,
      redelivered: message.fields.redelivered,
      source: {
        userId: typeof message.properties.userId === 'string' ? message.properties.userId : undefined,
        exchange: message.fields.exchange,
        routingKey: message.fields.routingKey,
        headers,
      },
    };
    try {
      await deliver(delivery, this.deliverySettings);
      settle(() => channel.ack(message));
    } catch (error) {
      if (!(error instanceof RequeueDelivery)) {
        this.deps.logger.error(
          `${this.queueName}: could not send a retry or dead letter (${describeError(error)})`,
        );
      }
      settle(() => channel.nack(message, false, true));
    }
  }

  private createDeliverySettings(): DeliverySettings {
    const { publisher, topology, options, logger, shutdown, login, producers } = this.deps;
    const queueExchange = topology.queueExchange(this.spec.queue);
    const timeout = options.publishTimeoutMs;
    const messageOf = (delivery: Delivery) => (delivery as DeliveryWithMessage).message;
    return {
      logicalQueue: this.spec.queue,
      maxRetries: this.spec.maxRetries ?? options.maxRetries,
      retryDelayMs: options.retryDelayMs,
      shutdown,
      logger,
      handler: this.handler,
      producers,
      queueExchange,
      // Both copies go through the app's own exchange (never the default exchange), under the bus's own user-id.
      republish: async (delivery, headers) => {
        const message = messageOf(delivery);
        await publisher.publish(queueExchange, topology.retryRoutingKey(this.queueName), message.content, {
          ...copyProperties(message.properties, headers, login),
          timeout,
        });
      },
      deadLetter: async (delivery, headers) => {
        const message = messageOf(delivery);
        await publisher.publish(
          queueExchange,
          topology.deadLetterRoutingKey(this.spec.queue),
          message.content,
          {
            ...copyProperties(message.properties, headers, login),
            timeout,
          },
        );
      },
    };
  }

  private async stop(): Promise<void> {
    await this.stopConsuming();
    const drained = await settlesWithin([...this.inFlight], DRAIN_TIMEOUT_MS);
    if (!drained) {
      this.deps.logger.warn(
        `${this.queueName}: handlers still running after ${DRAIN_TIMEOUT_MS} ms; closing anyway`,
      );
    }
    await this.channel.close().catch(() => undefined);
  }
}

/** Acks or nacks on the delivering channel; if that channel is gone, the broker has already requeued the message. */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // IllegalOperationError (channel closed): nothing to do, the broker redelivers the unacked message.
  }
}

async function settlesWithin(work: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(work).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
