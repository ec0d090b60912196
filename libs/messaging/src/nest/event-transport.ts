import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { EventEnvelope } from '@sepal/contracts';
import { lastValueFrom } from 'rxjs';
import { DeliveryInfo, EventBus, Subscription, SubscriptionSpec } from '../event-bus';
import { matchesTopic } from '../topic-matcher';
import { EventContext } from './event-context';
import { ConsumeEventOptions } from './consume-event.decorator';

type TransportStatus = 'listening' | 'closed';
type TransportEvents = { error: (error: unknown) => void };

interface Route {
  pattern: string;
  handler: MessageHandler;
}

interface QueueRoutes {
  spec: SubscriptionSpec;
  routes: Route[];
}

/**
 * Nest microservice transport over the EventBus: every `@ConsumeEvent` handler becomes a consumer of its queue.
 * Usage: `app.connectMicroservice({ strategy: app.get(EventTransport) }, { inheritAppConfig: true })`.
 */
export class EventTransport
  extends Server<TransportEvents, TransportStatus>
  implements CustomTransportStrategy
{
  protected override readonly logger = new Logger(EventTransport.name);
  private readonly events = new EventEmitter();
  private subscriptions: Subscription[] = [];

  constructor(private readonly bus: EventBus) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      for (const queue of this.routesByQueue()) {
        const subscription = await this.bus.subscribe(queue.spec, (envelope, delivery) =>
          this.dispatch(queue, envelope, delivery),
        );
        this.subscriptions.push(subscription);
        this.logger.log(`consuming ${subscription.queueName} (${queue.spec.patterns.join(', ')})`);
      }
      this._status$.next('listening');
      callback();
    } catch (error) {
      this.events.emit('error', error);
      callback(error);
    }
  }

  /** Every queue stops receiving new messages; handlers in flight go on (see Subscription.stopConsuming). */
  async stopConsuming(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.stopConsuming()));
  }

  async close(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    this._status$.next('closed');
  }

  on<K extends keyof TransportEvents>(event: K, callback: TransportEvents[K]): void {
    this.events.on(event, callback);
  }

  unwrap<T>(): T {
    return this.bus as T;
  }

  /** One subscription per queue: several handlers (patterns) on one queue share its consumer. */
  private routesByQueue(): QueueRoutes[] {
    const queues = new Map<string, QueueRoutes>();
    for (const [pattern, head] of this.getHandlers()) {
      for (const handler of detachChain(head)) {
        const options = readConsumeEventOptions(pattern, handler);
        const key = `${options.broadcast ? 'broadcast' : 'work'}:${options.queue}`;
        const entry = queues.get(key) ?? {
          spec: { queue: options.queue, patterns: [], broadcast: options.broadcast ?? false },
          routes: [],
        };
        if (!entry.spec.patterns.includes(pattern)) entry.spec.patterns.push(pattern);
        if (options.maxRetries !== undefined) {
          entry.spec.maxRetries = Math.max(entry.spec.maxRetries ?? 0, options.maxRetries);
        }
        entry.routes.push({ pattern, handler });
        queues.set(key, entry);
      }
    }
    return [...queues.values()];
  }

  /**
   * Runs every handler of the queue whose pattern matches the event type (the routing key of a retried copy is the
   * queue name, so the type is what counts) and resolves only when they all have.
   */
  private async dispatch(queue: QueueRoutes, envelope: EventEnvelope, delivery: DeliveryInfo): Promise<void> {
    const routes = queue.routes.filter((route) => matchesTopic(route.pattern, envelope.type));
    if (routes.length === 0) {
      this.logger.warn(`${queue.spec.queue}: no handler for ${envelope.type}; acking ${envelope.messageId}`);
      return;
    }
    for (const route of routes) {
      const result: unknown = await route.handler(envelope, new EventContext([delivery]));
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    }
  }
}

/**
 * Nest chains handlers registered for the same pattern through `next` and calls the whole chain from the head. Each
 * handler here may consume another queue, so the chain is split and every handler is called on its own.
 */
function detachChain(head: MessageHandler): MessageHandler[] {
  const handlers: MessageHandler[] = [];
  for (let handler: MessageHandler | undefined = head; handler;) {
    const next: MessageHandler | undefined = handler.next as MessageHandler | undefined;
    handler.next = undefined;
    handlers.push(handler);
    handler = next;
  }
  return handlers;
}

function readConsumeEventOptions(pattern: string, handler: MessageHandler): ConsumeEventOptions {
  const extras = handler.extras as Partial<ConsumeEventOptions> | undefined;
  if (!handler.isEventHandler || typeof extras?.queue !== 'string') {
    throw new Error(
      `EventTransport: handler for '${pattern}' must be declared with @ConsumeEvent(name, { queue })`,
    );
  }
  return { queue: extras.queue, broadcast: extras.broadcast === true, maxRetries: extras.maxRetries };
}
