import { MessageHeaders } from '../dead-letters';
import { matchesTopic } from '../topic-matcher';

export interface BrokerMessage {
  /** Always serialized JSON text, so subscribers never share objects with the publisher or each other. */
  body: string;
  headers: MessageHeaders;
  redelivered: boolean;
  /** The publishing bus's identity, like AMQP's user-id. */
  userId?: string;
  /** The exchange and routing key it was published with. */
  exchange?: string;
  routingKey?: string;
}

/** What a publisher gives: the broker adds the rest. */
export type PublishedMessage = Pick<BrokerMessage, 'body' | 'headers' | 'userId'>;

/** Resolving acks the message; rejecting puts it back at the head of the queue. */
export type BrokerConsumer = (message: BrokerMessage) => Promise<void>;

export type ExchangeType = 'topic' | 'direct';

interface Exchange {
  type: ExchangeType;
  bindings: { queue: string; pattern: string }[];
}

interface ConsumerSlot {
  consume: BrokerConsumer;
  prefetch: number;
  inFlight: Set<Promise<void>>;
}

class BrokerQueue {
  readonly ready: BrokerMessage[] = [];
  readonly consumers: ConsumerSlot[] = [];
  private nextConsumer = 0;
  private dispatchScheduled = false;

  constructor(readonly autoDelete: boolean) {}

  enqueue(message: BrokerMessage): void {
    this.ready.push(message);
    this.scheduleDispatch();
  }

  /** Dispatch is asynchronous so a publisher never runs subscriber code inside its own call. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (
      let consumer = this.pickConsumer();
      consumer && this.ready.length > 0;
      consumer = this.pickConsumer()
    ) {
      const message = this.ready.shift() as BrokerMessage;
      const slot = consumer;
      const run: Promise<void> = slot
        .consume(message)
        .catch(() => {
          this.ready.unshift({ ...message, redelivered: true });
        })
        .finally(() => {
          slot.inFlight.delete(run);
          this.scheduleDispatch();
        });
      slot.inFlight.add(run);
    }
  }

  /** Round-robin over the consumers that still have room under their prefetch. */
  private pickConsumer(): ConsumerSlot | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const index = (this.nextConsumer + i) % this.consumers.length;
      const candidate = this.consumers[index];
      if (candidate.inFlight.size < candidate.prefetch) {
        this.nextConsumer = index + 1;
        return candidate;
      }
    }
    return undefined;
  }
}

/**
 * A broker in process memory with the AMQP semantics the platform relies on: topic and direct exchanges, queues
 * that outlive their consumers, competing consumers with prefetch, auto-delete queues, requeue on failure.
 * Several Nest applications in one process share it through getSharedInProcessBroker().
 */
export class InProcessBroker {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly queues = new Map<string, BrokerQueue>();

  assertExchange(name: string, type: ExchangeType): void {
    const existing = this.exchanges.get(name);
    if (existing && existing.type !== type) {
      throw new Error(`exchange '${name}' exists with type ${existing.type}, not ${type}`);
    }
    if (!existing) this.exchanges.set(name, { type, bindings: [] });
  }

  assertQueue(name: string, options: { autoDelete?: boolean } = {}): void {
    if (!this.queues.has(name)) this.queues.set(name, new BrokerQueue(options.autoDelete ?? false));
  }

  bindQueue(queue: string, exchange: string, pattern: string): void {
    this.requireQueue(queue);
    const { bindings } = this.requireExchange(exchange);
    if (!bindings.some((b) => b.queue === queue && b.pattern === pattern)) bindings.push({ queue, pattern });
  }

  /** Returns how many queues the message was routed to. */
  publish(exchange: string, routingKey: string, message: PublishedMessage): number {
    const { type, bindings } = this.requireExchange(exchange);
    const targets = new Set(
      bindings
        .filter((b) => (type === 'topic' ? matchesTopic(b.pattern, routingKey) : b.pattern === routingKey))
        .map((b) => b.queue),
    );
    for (const queue of targets) this.enqueue(queue, { ...message, exchange, routingKey });
    return targets.size;
  }

  /** There is no default exchange (nothing may be sent straight to a queue): a message goes through an exchange. */
  private enqueue(queue: string, message: Omit<BrokerMessage, 'redelivered'>): void {
    this.queues.get(queue)?.enqueue({ ...message, headers: { ...message.headers }, redelivered: false });
  }

  /**
   * Starts consuming. `detach` stops new deliveries to this consumer at once; `stop` detaches and resolves once the
   * consumer's messages in flight settle.
   */
  consume(
    queue: string,
    consume: BrokerConsumer,
    options: { prefetch: number },
  ): { detach(): void; stop(): Promise<void> } {
    const target = this.requireQueue(queue);
    const slot: ConsumerSlot = { consume, prefetch: options.prefetch, inFlight: new Set() };
    target.consumers.push(slot);
    target.scheduleDispatch();
    let detached = false;
    const detach = () => {
      if (detached) return;
      detached = true;
      const index = target.consumers.indexOf(slot);
      if (index !== -1) target.consumers.splice(index, 1);
    };
    return {
      detach,
      stop: async () => {
        if (detached && slot.inFlight.size === 0) return;
        detach();
        await Promise.allSettled([...slot.inFlight]);
        if (target.autoDelete && target.consumers.length === 0) this.deleteQueue(queue);
      },
    };
  }

  peek(queue: string, limit: number): BrokerMessage[] {
    return (this.queues.get(queue)?.ready ?? [])
      .slice(0, limit)
      .map((m) => ({ ...m, headers: { ...m.headers } }));
  }

  messageCount(queue: string): number {
    return this.queues.get(queue)?.ready.length ?? 0;
  }

  deleteQueue(queue: string): void {
    this.queues.delete(queue);
    for (const exchange of this.exchanges.values()) {
      exchange.bindings = exchange.bindings.filter((b) => b.queue !== queue);
    }
  }

  private requireExchange(name: string): Exchange {
    const exchange = this.exchanges.get(name);
    if (!exchange) throw new Error(`no exchange '${name}'`);
    return exchange;
  }

  private requireQueue(name: string): BrokerQueue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue '${name}'`);
    return queue;
  }
}

let sharedBroker: InProcessBroker | undefined;

/** The process-wide broker that every InProcessEventBus attaches to unless given its own. */
export function getSharedInProcessBroker(): InProcessBroker {
  sharedBroker ??= new InProcessBroker();
  return sharedBroker;
}
