import { AmqpEventBus } from './amqp/amqp-event-bus';
import { EventBus } from './event-bus';
import { InProcessEventBus } from './in-process/in-process-event-bus';
import { MessagingOptions } from './messaging-options';

/** RabbitMQ when an AMQP URL is configured, else the in-process bus of the embedded mode. */
export function createEventBus(options: MessagingOptions): EventBus {
  return options.amqpUrl ? new AmqpEventBus(options) : new InProcessEventBus(options);
}
