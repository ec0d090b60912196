import { HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { TokenBuckets } from './rate-limit';

export interface FailedKeyCheckLimits {
  AUTH_FAILURES_PER_MINUTE: number;
  AUTH_FAILURE_BURST: number;
}

/**
 * Failed API-key checks by caller address (AUTH_FAILURES_PER_MINUTE, bursts of AUTH_FAILURE_BURST). A check costs a
 * scrypt on the registry; an address that keeps sending unknown keys is answered 429 before any check, so guessing keys
 * cannot exhaust the machine. Only failures count: a caller that sends valid keys never uses up its allowance.
 */
export class FailedKeyChecks {
  private readonly buckets: TokenBuckets;

  constructor(limits: FailedKeyCheckLimits) {
    this.buckets = new TokenBuckets(limits.AUTH_FAILURES_PER_MINUTE / 60, limits.AUTH_FAILURE_BURST);
  }

  /** Throws the 429 (setting Retry-After on `reply`) when `address` has used up its failed checks. */
  refuseIfBlocked(address: string, reply?: FastifyReply): void {
    const retryAfter = this.buckets.wait(`ip:${address}`);
    if (retryAfter === 0) return;
    void reply?.header('retry-after', String(retryAfter));
    throw new HttpException(
      `Too many unknown or revoked API keys from this address (limit AUTH_FAILURES_PER_MINUTE per minute, bursts ` +
        `of AUTH_FAILURE_BURST); retry after ${retryAfter} s with a valid key.`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  /** Counts one failed check from `address`. */
  record(address: string): void {
    this.buckets.take(`ip:${address}`);
  }
}
