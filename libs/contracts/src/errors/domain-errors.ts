/**
 * Errors a service raises about a request; the HTTP layer maps each kind to its status code.
 * The message says what happened; `hint` says what to do about it.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'not_found' | 'conflict' | 'invalid' | 'unprocessable' | 'unavailable' | 'too_many';

  constructor(
    message: string,
    readonly hint?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict';
}

/** The request is malformed (HTTP 400). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
}

/** The request is well formed but cannot be applied (HTTP 422). */
export class UnprocessableError extends DomainError {
  readonly kind = 'unprocessable';
}

export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
}

/** The service is already doing as much of this work as it is configured to (HTTP 429): retry later. */
export class TooManyRequestsError extends DomainError {
  readonly kind = 'too_many';
}
