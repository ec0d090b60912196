import { LoggerService } from '@nestjs/common';
import { abortableDelay } from './abortable-delay';
import { deadLetterHeaders, MessageHeaders, readAttempt, SepalHeaders } from './dead-letters';
import { EnvelopeHandler } from './event-bus';
import { RequeueDelivery } from './requeue-delivery';
import { processDelivery } from './retry-policy';

export interface Delivery {
  body: string;
  headers: MessageHeaders;
  redelivered: boolean;
}

export interface DeliverySettings {
  logicalQueue: string;
  maxRetries: number;
  retryDelayMs: number;
  /** Aborted on shutdown: pending retries are then republished without waiting out their delay. */
  shutdown: AbortSignal;
  logger: LoggerService;
  handler: EnvelopeHandler;
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
  const outcome = await processDelivery(delivery.body, attempt, settings.maxRetries, (envelope) =>
    settings.handler(envelope, { queue: settings.logicalQueue, attempt, redelivered: delivery.redelivered }),
  );
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
      await settings.republish(delivery, {
        ...delivery.headers,
        [SepalHeaders.Attempt]: outcome.nextAttempt,
      });
      return;
    case 'dead-letter':
      settings.logger.warn(`${settings.logicalQueue}: dead-lettering a message: ${outcome.error}`);
      await settings.deadLetter(
        delivery,
        deadLetterHeaders(delivery.headers, {
          error: outcome.error,
          attempts: outcome.attempts,
          queue: settings.logicalQueue,
        }),
      );
      return;
  }
}
