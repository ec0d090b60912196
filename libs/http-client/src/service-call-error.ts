/**
 * A failed call to a service: what was called (method and URL), the answer's status (null when the service could
 * not be reached at all), the service's own message and hint when it gave them.
 */
export class ServiceCallError extends Error {
  constructor(
    readonly service: string,
    readonly method: string,
    readonly url: string,
    readonly status: number | null,
    readonly detail: string,
    readonly hint?: string,
  ) {
    super(
      status === null
        ? `${service}: ${method} ${url} failed: ${detail}`
        : `${service}: ${method} ${url} answered ${status}: ${detail}`,
    );
    this.name = 'ServiceCallError';
  }

  /** Unreachable, timed out, 5xx or 429: worth trying again later. */
  get transient(): boolean {
    return this.status === null || this.status >= 500 || this.status === 429;
  }
}

export const isTransient = (error: unknown): boolean => error instanceof ServiceCallError && error.transient;
