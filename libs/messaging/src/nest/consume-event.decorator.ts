import { applyDecorators, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { EventName } from '@sepal/contracts';
import { EventHandlerErrorFilter } from './event-handler-error.filter';

export interface ConsumeEventOptions {
  /** Logical queue: a durable work queue shared by every replica (competing consumers). */
  queue: string;
  /** Every process gets its own exclusive, auto-delete queue `<queue>.<random>` and hears every event. */
  broadcast?: boolean;
  /** Overrides MessagingOptions.maxRetries for this queue. */
  maxRetries?: number;
}

/**
 * Marks a controller method as the handler of an event (or of a topic pattern such as `training.*`), consumed through
 * EventTransport. The handler receives the validated envelope (`@Payload() envelope: EventEnvelope<N>`); the message
 * is acked when it resolves, retried when it throws. (Not named OnEvent: that is @nestjs/event-emitter's decorator for
 * in-process events, and an auto-import of the wrong one would compile and never consume.)
 */
export function ConsumeEvent(
  pattern: EventName | (string & {}),
  options: ConsumeEventOptions,
): MethodDecorator {
  if (!pattern.trim()) throw new Error('@ConsumeEvent needs an event name or pattern');
  if (!options.queue?.trim()) throw new Error(`@ConsumeEvent('${pattern}') needs a queue`);
  if (options.maxRetries !== undefined && (!Number.isInteger(options.maxRetries) || options.maxRetries < 0)) {
    throw new Error(`@ConsumeEvent('${pattern}'): maxRetries must be a non-negative integer`);
  }
  const extras: ConsumeEventOptions = { queue: options.queue, broadcast: options.broadcast ?? false };
  if (options.maxRetries !== undefined) extras.maxRetries = options.maxRetries;
  return applyDecorators(EventPattern(pattern, { ...extras }), UseFilters(new EventHandlerErrorFilter()));
}
