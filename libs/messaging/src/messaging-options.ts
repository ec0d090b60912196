import { DEFAULT_PRODUCERS } from './producer-identity';

export interface MessagingOptions {
  /** amqp://… of the broker; without it the bus runs in-process (embedded mode). */
  amqpUrl?: string;
  /** Prefix of every exchange and queue name, e.g. a unique one per test run. */
  namespace?: string;
  serviceName: string;
  /** Retries of a failing handler before the message is dead-lettered (default 3). */
  maxRetries?: number;
  retryDelayMs?: number;
  /** Unacknowledged messages a consumer may hold at once (default 8). */
  prefetch?: number;
  /** How long a publish waits for the broker's confirm, including while reconnecting (default 10 s). */
  publishTimeoutMs?: number;
  /** Pause between reconnection attempts to the broker (default 1 s). */
  reconnectDelayMs?: number;
  /**
   * Broker user → the app it publishes as (AMQP_PRODUCERS), for the owner check of every event received; default
   * DEFAULT_PRODUCERS (sepal_<app>). A bus whose own login is none of them (guest in development) accepts events
   * from users that are no app's, and logs it.
   */
  producers?: Readonly<Record<string, string>>;
  /** RabbitMQ only: work queues are quorum queues (replicated, with a delivery limit). Default true. */
  quorumQueues?: boolean;
  /** Deliveries of one message by a quorum work queue before the broker dead-letters it as poison (default 10). */
  deliveryLimit?: number;
}

export type ResolvedMessagingOptions = Required<Omit<MessagingOptions, 'amqpUrl'>> & { amqpUrl?: string };

export const DEFAULT_DELIVERY_LIMIT = 10;

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

export function resolveMessagingOptions(options: MessagingOptions): ResolvedMessagingOptions {
  const resolved: ResolvedMessagingOptions = {
    amqpUrl: options.amqpUrl || undefined,
    namespace: options.namespace ?? '',
    serviceName: options.serviceName,
    maxRetries: options.maxRetries ?? 3,
    retryDelayMs: options.retryDelayMs ?? 1000,
    prefetch: options.prefetch ?? 8,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    reconnectDelayMs: options.reconnectDelayMs ?? 1000,
    producers: options.producers ?? DEFAULT_PRODUCERS,
    quorumQueues: options.quorumQueues ?? true,
    deliveryLimit: options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
  };
  assertNonNegativeInteger('maxRetries', resolved.maxRetries);
  assertNonNegativeInteger('retryDelayMs', resolved.retryDelayMs);
  assertPositiveInteger('prefetch', resolved.prefetch);
  assertPositiveInteger('publishTimeoutMs', resolved.publishTimeoutMs);
  assertPositiveInteger('reconnectDelayMs', resolved.reconnectDelayMs);
  assertPositiveInteger('deliveryLimit', resolved.deliveryLimit);
  if (!resolved.serviceName.trim()) throw new Error('messaging: serviceName must not be empty');
  return resolved;
}

function assertNonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`messaging: ${name} must be a non-negative integer, got ${value}`);
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`messaging: ${name} must be a positive integer, got ${value}`);
  }
}
