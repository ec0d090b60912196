import type { MessageProperties, Options } from 'amqplib';
import { EventEnvelope } from '@sepal/contracts';
import { MessageHeaders } from '../dead-letters';

/**
 * `userId` is the connection's login: RabbitMQ refuses a message whose user-id is not the publisher's own, so
 * consumers can trust it to say who published (see ProducerPolicy).
 */
export function envelopeProperties(envelope: EventEnvelope, appId: string, userId: string): Options.Publish {
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: envelope.messageId,
    correlationId: envelope.correlationId,
    type: envelope.type,
    // AMQP timestamps are whole seconds since the epoch; the envelope keeps the precise one.
    timestamp: Math.floor(Date.parse(envelope.timestamp) / 1000),
    appId,
    userId,
    headers: {},
  };
}

/**
 * The properties of a received message for a copy of it (retry or dead letter): same ids, new headers, and the
 * copier's own user-id (the original producer travels in the x-sepal-producer header).
 */
export function copyProperties(
  properties: MessageProperties,
  headers: MessageHeaders,
  userId: string,
): Options.Publish {
  return {
    persistent: true,
    contentType: properties.contentType ?? 'application/json',
    messageId: properties.messageId,
    correlationId: properties.correlationId,
    type: properties.type,
    timestamp: properties.timestamp,
    appId: properties.appId,
    userId,
    headers,
  };
}
