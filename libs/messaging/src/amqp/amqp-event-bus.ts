import { randomBytes } from 'node:crypto';
import type { Channel } from 'amqplib';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { Logger } from '@nestjs/common';
import { EventEnvelope } from '@sepal/contracts';
import { DeadLetter, toDeadLetter } from '../dead-letters';
import { EnvelopeHandler, EventBus, Subscription, SubscriptionSpec } from '../event-bus';
import { MessagingOptions, ResolvedMessagingOptions, resolveMessagingOptions } from '../messaging-options';
import { describeError } from '../describe-error';
import { Topology } from '../topology';
import { assertExchanges } from './amqp-topology';
import { AmqpSubscription } from './amqp-subscription';
import { envelopeProperties } from './message-properties';
import { reportChannelError } from './report-channel-error';
import { redactUrl } from './redact-url';
import { amqpLogin, amqpProducerPolicy, ProducerPolicy } from '../producer-identity';

const HEARTBEAT_SECONDS = 5;

export class PublishTimeoutError extends Error {
  constructor(envelope: EventEnvelope, timeoutMs: number) {
    super(
      `publishing ${envelope.type} ${envelope.messageId} was not confirmed by the broker within ${timeoutMs} ms ` +
        '(broker unreachable or blocked?)',
    );
    this.name = 'PublishTimeoutError';
  }
}

/**
 * The bus on RabbitMQ. amqp-connection-manager reconnects after a broker restart and re-runs every channel's
 * setup (topology, consumers); publishes made while disconnected wait for the connection, up to publishTimeoutMs.
 */
export class AmqpEventBus extends EventBus {
  private readonly logger = new Logger(AmqpEventBus.name);
  private readonly options: ResolvedMessagingOptions & { amqpUrl: string };
  private readonly topology: Topology;
  /** The user this bus logs in as: the user-id of everything it sends. */
  private readonly login: string;
  private readonly producers: ProducerPolicy;
  private readonly manager: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly shutdown = new AbortController();
  private closed = false;
  private connectFailuresLogged = 0;

  constructor(options: MessagingOptions) {
    super();
    const resolved = resolveMessagingOptions(options);
    if (!resolved.amqpUrl) throw new Error('AmqpEventBus needs amqpUrl');
    this.options = { ...resolved, amqpUrl: resolved.amqpUrl };
    this.topology = new Topology(this.options.namespace);
    this.login = amqpLogin(this.options.amqpUrl);
    this.producers = amqpProducerPolicy(
      this.login,
      this.options.producers,
      this.topology.exchange,
      this.logger,
    );
    this.manager = amqp.connect([this.options.amqpUrl], {
      heartbeatIntervalInSeconds: HEARTBEAT_SECONDS,
      reconnectTimeInSeconds: this.options.reconnectDelayMs / 1000,
      connectionOptions: { clientProperties: { connection_name: this.options.serviceName } },
    });
    this.logConnectionEvents();
    this.publisher = this.manager.createChannel({
      name: 'publisher',
      confirm: true,
      setup: (channel: Channel) => assertExchanges(channel, this.topology),
    });
    this.publisher.on('error', (error: unknown) => reportChannelError(this.logger, 'publisher', error));
  }

  isConnected(): boolean {
    return !this.closed && this.manager.isConnected();
  }

  protected async sendEnvelope(envelope: EventEnvelope): Promise<void> {
    this.assertOpen();
    const { publishTimeoutMs, serviceName } = this.options;
    try {
      await this.publisher.publish(
        this.topology.exchange,
        envelope.type,
        Buffer.from(JSON.stringify(envelope)),
        {
          ...envelopeProperties(envelope, serviceName, this.login),
          timeout: publishTimeoutMs,
        },
      );
    } catch (error) {
      if (error instanceof Error && error.message === 'timeout') {
        throw new PublishTimeoutError(envelope, publishTimeoutMs);
      }
      throw new Error(`publishing ${envelope.type} ${envelope.messageId} failed: ${describeError(error)}`);
    }
  }

  async subscribe(spec: SubscriptionSpec, handler: EnvelopeHandler): Promise<Subscription> {
    this.assertOpen();
    const queueName = spec.broadcast
      ? this.topology.broadcastQueue(spec.queue, randomBytes(6).toString('hex'))
      : this.topology.queue(spec.queue);
    const subscription = new AmqpSubscription(queueName, spec, handler, {
      manager: this.manager,
      publisher: this.publisher,
      topology: this.topology,
      options: this.options,
      login: this.login,
      producers: this.producers,
      logger: this.logger,
      shutdown: this.shutdown.signal,
    });
    await subscription.start();
    this.subscriptions.add(subscription);
    return {
      queueName,
      stopConsuming: () => subscription.stopConsuming(),
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  /**
   * Reads the dead-letter queue on a short-lived channel without acking: closing the channel puts every message
   * back where it was, so looking does not consume.
   */
  async deadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    return this.withTemporaryChannel(async (channel) => {
      const deadLetters: DeadLetter[] = [];
      const deadLetterQueue = this.topology.deadLetterQueue(queue);
      while (deadLetters.length < limit) {
        const message = await channel.get(deadLetterQueue, { noAck: false });
        if (!message) break;
        deadLetters.push(toDeadLetter(message.content.toString('utf8'), message.properties.headers));
      }
      return deadLetters;
    }).catch((error: unknown) => (isNotFound(error) ? [] : Promise.reject(error)));
  }

  async deadLetterCount(queue: string): Promise<number> {
    return this.withTemporaryChannel(
      async (channel) => (await channel.checkQueue(this.topology.deadLetterQueue(queue))).messageCount,
    ).catch((error: unknown) => (isNotFound(error) ? 0 : Promise.reject(error)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.subscriptions.clear();
    await this.publisher.close().catch(() => undefined);
    await this.manager.close();
  }

  private async withTemporaryChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const connection = this.manager.connection;
    if (!connection) throw new Error(`not connected to the broker at ${redactUrl(this.options.amqpUrl)}`);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // a failed operation also rejects its promise, handled by the caller
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private logConnectionEvents(): void {
    const url = redactUrl(this.options.amqpUrl);
    this.manager.on('connect', () => {
      this.connectFailuresLogged = 0;
      this.logger.log(`${this.options.serviceName} connected to ${url}`);
    });
    this.manager.on('disconnect', ({ err }: { err?: Error }) => {
      if (!this.closed) this.logger.warn(`disconnected from ${url}: ${describeError(err)}; reconnecting`);
    });
    this.manager.on('connectFailed', ({ err }: { err: Error }) => {
      // One line per outage is enough; the manager keeps retrying every reconnectDelayMs.
      if (this.connectFailuresLogged++ === 0)
        this.logger.warn(`cannot connect to ${url}: ${describeError(err)}`);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the event bus is closed');
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 404;
}
