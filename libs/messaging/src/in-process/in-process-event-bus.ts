import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { EventEnvelope } from '@sepal/contracts';
import { DeadLetter, toDeadLetter } from '../dead-letters';
import { deliver, DeliverySettings } from '../delivery';
import { EnvelopeHandler, EventBus, Subscription, SubscriptionSpec } from '../event-bus';
import { MessagingOptions, ResolvedMessagingOptions, resolveMessagingOptions } from '../messaging-options';
import { Topology } from '../topology';
import { getSharedInProcessBroker, InProcessBroker } from './in-process-broker';
import { inProcessProducerPolicy, ProducerPolicy } from '../producer-identity';

/** The bus of the embedded mode (no AMQP_URL): same semantics as AmqpEventBus, without durability across restarts. */
export class InProcessEventBus extends EventBus {
  private readonly logger = new Logger(InProcessEventBus.name);
  private readonly options: ResolvedMessagingOptions;
  private readonly topology: Topology;
  private readonly producers: ProducerPolicy;
  private readonly subscriptions = new Set<Subscription>();
  private readonly shutdown = new AbortController();
  private closed = false;

  constructor(
    options: MessagingOptions,
    private readonly broker: InProcessBroker = getSharedInProcessBroker(),
  ) {
    super();
    this.options = resolveMessagingOptions(options);
    this.topology = new Topology(this.options.namespace);
    this.producers = inProcessProducerPolicy(this.options.serviceName, this.topology.exchange, this.logger);
    this.broker.assertExchange(this.topology.exchange, 'topic');
  }

  isConnected(): boolean {
    return !this.closed;
  }

  protected async sendEnvelope(envelope: EventEnvelope): Promise<void> {
    this.assertOpen();
    this.broker.publish(this.topology.exchange, envelope.type, {
      body: JSON.stringify(envelope),
      headers: {},
      userId: this.options.serviceName,
    });
  }

  async subscribe(spec: SubscriptionSpec, handler: EnvelopeHandler): Promise<Subscription> {
    this.assertOpen();
    const { topology, broker } = this;
    const userId = this.options.serviceName;
    const queueExchange = topology.queueExchange(spec.queue);
    broker.assertExchange(queueExchange, 'direct');
    const queueName = spec.broadcast
      ? topology.broadcastQueue(spec.queue, randomBytes(6).toString('hex'))
      : topology.queue(spec.queue);
    const deadLetterQueue = topology.deadLetterQueue(spec.queue);
    broker.assertQueue(deadLetterQueue);
    broker.bindQueue(deadLetterQueue, queueExchange, topology.deadLetterRoutingKey(spec.queue));
    broker.assertQueue(queueName, { autoDelete: spec.broadcast ?? false });
    for (const pattern of spec.patterns) broker.bindQueue(queueName, topology.exchange, pattern);
    broker.bindQueue(queueName, queueExchange, topology.retryRoutingKey(queueName));

    const settings: DeliverySettings = {
      logicalQueue: spec.queue,
      maxRetries: spec.maxRetries ?? this.options.maxRetries,
      retryDelayMs: this.options.retryDelayMs,
      shutdown: this.shutdown.signal,
      logger: this.logger,
      handler,
      producers: this.producers,
      queueExchange,
      republish: async (delivery, headers) => {
        broker.publish(queueExchange, topology.retryRoutingKey(queueName), {
          body: delivery.body,
          headers,
          userId,
        });
      },
      deadLetter: async (delivery, headers) => {
        broker.publish(queueExchange, topology.deadLetterRoutingKey(spec.queue), {
          body: delivery.body,
          headers,
          userId,
        });
      },
    };
    const consumer = broker.consume(
      queueName,
      (message) => deliver({ ...message, source: message }, settings),
      {
        prefetch: spec.prefetch ?? this.options.prefetch,
      },
    );
    const subscription: Subscription = {
      queueName,
      stopConsuming: async () => consumer.detach(),
      close: async () => {
        this.subscriptions.delete(subscription);
        await consumer.stop();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async deadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    return this.broker
      .peek(this.topology.deadLetterQueue(queue), limit)
      .map((message) => toDeadLetter(message.body, message.headers));
  }

  async deadLetterCount(queue: string): Promise<number> {
    return this.broker.messageCount(this.topology.deadLetterQueue(queue));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the event bus is closed');
  }
}
