import type { MessageProperties, Options } from 'amqplib';
import { EventEnvelope } from '@sepal/contracts';
import { MessageHeaders } from '../dead-letters';

export function envelopeProperties(envelope: EventEnvelope, appId: string): Options.Publish {
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: envelope.messageId,
    correlationId: envelope.correlationId,
    type: envelope.type,
    // AMQP timestamps are whole seconds since the epoch; the envelope keeps the precise one.
    timestamp: Math.floor(Date.parse(envelope.timestamp) / 1000),
    appId,
    headers: {},
  };
}

/** The properties of a received message for a copy of it (retry or dead letter): same ids, new headers. */
export function copyProperties(properties: MessageProperties, headers: MessageHeaders): Options.Publish {
  return {
    persistent: true,
    contentType: properties.contentType ?? 'application/json',
    messageId: properties.messageId,
    correlationId: properties.correlationId,
    type: properties.type,
    timestamp: properties.timestamp,
    appId: properties.appId,
    headers,
  };
}
