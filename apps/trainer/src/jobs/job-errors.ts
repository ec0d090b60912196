/**
 * A job that can never succeed as asked (missing dataset or version, invalid grid, dataset too small, export failing
 * its parity check): recorded on the run, then the message is dead-lettered without another attempt.
 */
export class JobRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRejectedError';
  }
}

/** The job failed after its run was recorded as failed; `cause` is the original error. */
export class JobFailedError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
