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

/**
 * The trainer is stopping (SIGTERM): the job's trials are terminated and its message goes back to the queue unacked,
 * for another replica; nothing is recorded as failed or cancelled.
 */
export class TrainerStoppingError extends Error {
  constructor(message = 'the trainer is stopping; the job goes back to the queue for another replica') {
    super(message);
    this.name = 'TrainerStoppingError';
  }
}

/** True when `signal` was aborted because the trainer is stopping. */
export function isTrainerStopping(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason instanceof TrainerStoppingError;
}
