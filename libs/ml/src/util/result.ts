/** The outcome of validating untrusted input: the typed value, or every problem found in it. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };
