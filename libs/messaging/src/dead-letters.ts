import { EventEnvelope, parseEnvelope } from '@sepal/contracts';

export const SepalHeaders = {
  Attempt: 'x-sepal-attempt',
  Error: 'x-sepal-error',
  Queue: 'x-sepal-queue',
  FailedAt: 'x-sepal-failed-at',
  /** On a retry copy or a dead letter: the user-id that published the original (the copy carries the consumer's). */
  Producer: 'x-sepal-producer',
} as const;

export type MessageHeaders = Record<string, unknown>;

export interface DeadLetter {
  /** The message as published, when it is a valid envelope. */
  envelope?: EventEnvelope;
  /** The body as received (parsed JSON, or the text if it is not JSON) when it is not a valid envelope. */
  raw?: unknown;
  error: string;
  /** Handler invocations before it was dead-lettered (0: rejected as invalid without calling the handler). */
  attempts: number;
  queue: string;
  failedAt: string;
  /** The broker identity (user-id) that published the original message, when known. */
  producer?: string;
}

export function deadLetterHeaders(
  headers: MessageHeaders,
  failure: { error: string; attempts: number; queue: string },
): MessageHeaders {
  return {
    ...headers,
    [SepalHeaders.Error]: failure.error,
    [SepalHeaders.Queue]: failure.queue,
    [SepalHeaders.FailedAt]: new Date().toISOString(),
    [SepalHeaders.Attempt]: failure.attempts,
  };
}

/** The attempt number of a delivery: 1 unless a retry republished it. */
export function readAttempt(headers: MessageHeaders | undefined): number {
  const value = Number(headers?.[SepalHeaders.Attempt] ?? 1);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

export function toDeadLetter(body: string, headers: MessageHeaders | undefined): DeadLetter {
  const decoded = decodeJson(body);
  let envelope: EventEnvelope | undefined;
  try {
    envelope = parseEnvelope(decoded);
  } catch {
    envelope = undefined;
  }
  const producer = headers?.[SepalHeaders.Producer];
  return {
    ...(envelope ? { envelope } : { raw: decoded }),
    error: String(headers?.[SepalHeaders.Error] ?? brokerDeathReason(headers)),
    attempts: Number(headers?.[SepalHeaders.Attempt] ?? 0),
    queue: String(headers?.[SepalHeaders.Queue] ?? ''),
    failedAt: String(headers?.[SepalHeaders.FailedAt] ?? ''),
    ...(typeof producer === 'string' ? { producer } : {}),
  };
}

/** A message the broker dead-lettered itself (x-first-death-reason), e.g. past a quorum queue's delivery limit. */
function brokerDeathReason(headers: MessageHeaders | undefined): string {
  const reason = headers?.['x-first-death-reason'];
  if (reason === 'delivery_limit') {
    return (
      "dead-lettered by the broker: delivered more times than the queue's x-delivery-limit " +
      '(a poison message: its consumer crashed or gave it back each time)'
    );
  }
  return typeof reason === 'string'
    ? `dead-lettered by the broker: ${reason}`
    : 'unknown (dead-lettered by the broker)';
}

function decodeJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
