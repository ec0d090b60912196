/** A failed call to another Sepal service; `status` is null when it could not be reached at all. */
export class ServiceCallError extends Error {
  constructor(
    readonly service: string,
    message: string,
    readonly status: number | null,
  ) {
    super(`${service}: ${message}`);
    this.name = 'ServiceCallError';
  }

  /** Unreachable, 5xx, 429: worth trying again later. */
  get transient(): boolean {
    return this.status === null || this.status >= 500 || this.status === 429;
  }
}

export interface JsonRequest {
  method?: string;
  body?: unknown;
  raw?: Uint8Array;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** JSON over fetch; a non-2xx answer throws ServiceCallError with the service's own message. */
export async function callJson<T>(
  service: string,
  url: string,
  { method = 'GET', body, raw, headers = {}, timeoutMs = 30_000 }: JsonRequest = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(raw !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
        ...headers,
      },
      body: raw !== undefined ? Buffer.from(raw) : body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : error;
    throw new ServiceCallError(service, `${method} ${url} failed: ${String(cause)}`, null);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new ServiceCallError(
      service,
      `${method} ${url} answered ${response.status}: ${message}`,
      response.status,
    );
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

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

export const isTransient = (error: unknown): boolean => error instanceof ServiceCallError && error.transient;

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
