import { DomainError, EventEnvelope, InvalidEventError, parseEnvelope } from '@sepal/contracts';
import { describeError } from './describe-error';
import { RequeueDelivery } from './requeue-delivery';

export type DeliveryOutcome =
  | { kind: 'handled' }
  | { kind: 'retry'; nextAttempt: number; error: string }
  | { kind: 'dead-letter'; error: string; attempts: number }
  | { kind: 'requeue'; error: string };

/**
 * The one place that decides what becomes of a delivery, for every bus: an invalid body, or an event `refuse` gives a
 * reason not to act on (its producer does not own it), is dead-lettered at once (never half-processed); a failing
 * handler is retried `maxRetries` times and then dead-lettered.
 */
export async function processDelivery(
  body: string,
  attempt: number,
  maxRetries: number,
  handle: (envelope: EventEnvelope) => Promise<void>,
  refuse: (envelope: EventEnvelope) => string | undefined = () => undefined,
): Promise<DeliveryOutcome> {
  let envelope: EventEnvelope;
  try {
    envelope = parseEnvelope(JSON.parse(body));
  } catch (error) {
    return { kind: 'dead-letter', error: describeInvalidBody(error), attempts: 0 };
  }
  const refusal = refuse(envelope);
  if (refusal !== undefined) return { kind: 'dead-letter', error: refusal, attempts: 0 };
  try {
    await handle(envelope);
    return { kind: 'handled' };
  } catch (error) {
    const message = describeError(error);
    if (error instanceof RequeueDelivery) return { kind: 'requeue', error: message };
    if (isPermanentFailure(error)) return { kind: 'dead-letter', error: message, attempts: attempt };
    return attempt <= maxRetries
      ? { kind: 'retry', nextAttempt: attempt + 1, error: message }
      : { kind: 'dead-letter', error: message, attempts: attempt };
  }
}

/**
 * A failure that no retry can fix: the event itself is wrong (invalid, or unprocessable against the receiver's data),
 * so it goes to the dead-letter queue at once instead of being retried.
 */
export function isPermanentFailure(error: unknown): boolean {
  return (
    error instanceof InvalidEventError ||
    (error instanceof DomainError && (error.kind === 'invalid' || error.kind === 'unprocessable'))
  );
}

function describeInvalidBody(error: unknown): string {
  if (error instanceof InvalidEventError) return error.message;
  if (error instanceof SyntaxError) return `body is not valid JSON: ${error.message}`;
  return describeError(error);
}
