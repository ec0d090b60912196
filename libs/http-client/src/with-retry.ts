import { isTransient } from './service-call-error';

export interface RetryOptions {
  /** Keep trying for this long (ms) after the first failure; 0 = a single attempt. */
  forMs: number;
  /** Which errors are worth another attempt (default: transient ServiceCallErrors). */
  retryable?: (error: unknown) => boolean;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Exponential backoff for a bounded time; the last error is rethrown once the time is up. */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const {
    forMs,
    retryable = isTransient,
    signal,
    onRetry,
    initialDelayMs = 250,
    maxDelayMs = 5000,
  } = options;
  const deadline = Date.now() + forMs;
  let delay = initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const remaining = deadline - Date.now();
      if (!retryable(error) || remaining <= 0) throw error;
      const wait = Math.min(delay, remaining, maxDelayMs);
      onRetry?.(error, attempt, wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
      signal?.throwIfAborted();
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
