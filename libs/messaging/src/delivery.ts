import { LoggerService } from '@nestjs/common';
import { abortableDelay } from './abortable-delay';
import { deadLetterHeaders, MessageHeaders, readAttempt, SepalHeaders } from './dead-letters';
import { EnvelopeHandler } from './event-bus';
import { RequeueDelivery } from './requeue-delivery';
import { processDelivery } from './retry-policy';
import { MessageSource, ProducerPolicy } from './producer-identity';

export interface Delivery {
  body: string;
  headers: MessageHeaders;
  redelivered: boolean;
  /** Who published it and how it was routed, for the producer check. */
  source: MessageSource;
}

export interface DeliverySettings {
  logicalQueue: string;
  maxRetries: number;
  retryDelayMs: number;
  /** Aborted on shutdown: pending retries are then republished without waiting out their delay. */
  shutdown: AbortSignal;
  logger: LoggerService;
  handler: EnvelopeHandler;
  /** Who may publish what: an event from a producer that does not own its type is dead-lettered with the reason. */
  producers: ProducerPolicy;
  /** The queue's app exchange, which carries its retries and dead letters. */
  queueExchange: string;
  /** Sends a copy of the message back to the consuming queue only (not to other subscribers). */
  republish(delivery: Delivery, headers: MessageHeaders): Promise<void>;
  deadLetter(delivery: Delivery, headers: MessageHeaders): Promise<void>;
}

/**
 * Runs the handler and carries out the retry policy. Resolves when the message may be acked: handled, or a retry
 * copy / dead letter has been accepted by the broker. Rejects if that copy could not be sent, or with RequeueDelivery
 * when the handler gave the message back: either way the message is requeued, not acked.
 */
export async function deliver(delivery: Delivery, settings: DeliverySettings): Promise<void> {
  const attempt = readAttempt(delivery.headers);
  const producer = settings.producers.producerOf(delivery.source, settings.queueExchange);
  const outcome = await processDelivery(
    delivery.body,
    attempt,
    settings.maxRetries,
    (envelope) =>
      settings.handler(envelope, {
        queue: settings.logicalQueue,
        attempt,
        redelivered: delivery.redelivered,
      }),
    (envelope) => settings.producers.refusal(envelope, delivery.source, settings.queueExchange),
  );
  // A copy names the original producer, never one the message claimed itself.
  const { [SepalHeaders.Producer]: _claimed, ...headers } = delivery.headers;
  const relayed = producer === undefined ? headers : { ...headers, [SepalHeaders.Producer]: producer };
  switch (outcome.kind) {
    case 'handled':
      return;
    case 'requeue':
      settings.logger.log(`${settings.logicalQueue}: message handed back to the queue (${outcome.error})`);
      throw new RequeueDelivery(outcome.error);
    case 'retry':
      settings.logger.warn(
        `${settings.logicalQueue}: attempt ${attempt} failed (${outcome.error}); retrying in ${settings.retryDelayMs} ms`,
      );
      await abortableDelay(settings.retryDelayMs, settings.shutdown);
      await settings.republish(delivery, { ...relayed, [SepalHeaders.Attempt]: outcome.nextAttempt });
      return;
    case 'dead-letter':
      settings.logger.warn(`${settings.logicalQueue}: dead-lettering a message: ${outcome.error}`);
      await settings.deadLetter(
        delivery,
        deadLetterHeaders(relayed, {
          error: outcome.error,
          attempts: outcome.attempts,
          queue: settings.logicalQueue,
        }),
      );
      return;
  }
}
