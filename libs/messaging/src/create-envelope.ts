import { randomUUID } from 'node:crypto';
import {
  EventEnvelope,
  EventName,
  EventPayloadInput,
  InvalidEventError,
  isEventName,
  parseEventPayload,
} from '@sepal/contracts';

export interface PublishOptions {
  /** Defaults to a new UUID; pass the same id to make a re-publication recognisable as a duplicate. */
  messageId?: string;
  /** Defaults to a new UUID; pass the incoming event's id to follow one pipeline run end to end. */
  correlationId?: string;
}

/** Validates the payload (throws InvalidEventError) and wraps it in an envelope. */
export function createEnvelope<N extends EventName>(
  type: N,
  payload: EventPayloadInput<N>,
  options: PublishOptions = {},
): EventEnvelope<N> {
  if (!isEventName(type)) throw new InvalidEventError(`unknown event type '${String(type)}'`, String(type));
  return {
    messageId: options.messageId ?? randomUUID(),
    type,
    timestamp: new Date().toISOString(),
    correlationId: options.correlationId ?? randomUUID(),
    payload: parseEventPayload(type, payload),
  };
}
