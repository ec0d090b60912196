import { EventEnvelope, EventName, EventPayloadInput } from '@sepal/contracts';
import { createEnvelope, PublishOptions } from './create-envelope';
import { DeadLetter } from './dead-letters';

/** What a consumer declares: a queue (shared by replicas unless broadcast) bound to topic patterns. */
export interface SubscriptionSpec {
  /** Logical queue name, without the namespace. */
  queue: string;
  /** Routing-key patterns (`*` and `#` wildcards allowed) bound to the queue. */
  patterns: string[];
  /** Each subscriber gets its own exclusive, auto-delete queue and so hears every event. */
  broadcast?: boolean;
  /** Overrides the bus-wide maxRetries for this queue. */
  maxRetries?: number;
  /** Overrides the bus-wide prefetch for this consumer (e.g. as many trials as it has worker threads). */
  prefetch?: number;
}

export interface DeliveryInfo {
  /** Logical queue name. */
  queue: string;
  /** 1 for the first delivery, incremented by each retry. */
  attempt: number;
  /** The broker delivered it before without an ack (e.g. a consumer died mid-way). */
  redelivered: boolean;
}

/** Resolves when the work is done (the message is then acked); throws to have it retried. */
export type EnvelopeHandler = (envelope: EventEnvelope, delivery: DeliveryInfo) => Promise<void>;

export interface Subscription {
  /** The queue's name on the broker (namespaced; for a broadcast, the per-subscriber queue). */
  readonly queueName: string;
  /**
   * Stops receiving new messages; handlers in flight go on and settle theirs (a graceful stop calls this before it
   * hands its work back, so a requeued message goes to another consumer).
   */
  stopConsuming(): Promise<void>;
  /** Stops consuming, waits for handlers in flight, then releases the queue's consumer. */
  close(): Promise<void>;
}

/** The bus of the platform; use the class as the Nest injection token. */
export abstract class EventBus {
  /**
   * Validates the payload (InvalidEventError, nothing sent), sends a persistent JSON envelope and resolves with its
   * messageId once the broker has confirmed it.
   */
  async publish<N extends EventName>(
    type: N,
    payload: EventPayloadInput<N>,
    options?: PublishOptions,
  ): Promise<string> {
    const envelope = createEnvelope(type, payload, options);
    await this.sendEnvelope(envelope);
    return envelope.messageId;
  }

  abstract isConnected(): boolean;

  abstract subscribe(spec: SubscriptionSpec, handler: EnvelopeHandler): Promise<Subscription>;

  /** Looks at (without removing) up to `limit` dead letters of a logical queue, oldest first. */
  abstract deadLetters(queue: string, limit?: number): Promise<DeadLetter[]>;

  abstract deadLetterCount(queue: string): Promise<number>;

  abstract close(): Promise<void>;

  protected abstract sendEnvelope(envelope: EventEnvelope): Promise<void>;
}
