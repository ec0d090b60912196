import { HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { TokenBuckets } from './rate-limit';

export interface FailedKeyCheckLimits {
  AUTH_FAILURES_PER_MINUTE: number;
  AUTH_FAILURE_BURST: number;
  AUTH_CHECKS_IN_FLIGHT: number;
  AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS: number;
}

/** A key check under way: `settle` once it is answered (a valid key gives its reserved failure back). */
export interface KeyCheckTicket {
  settle(valid: boolean): void;
}

export interface KeyCheckOptions {
  /**
   * false: the check takes no failure token (a key that was valid when last checked, re-checked once its cached
   * answer expired: no guess; a service identity relaying its clients' keys, which it limits itself).
   */
  failure?: boolean;
  /** false: the check takes no slot of the address, only one overall (a service identity relaying many clients). */
  perAddress?: boolean;
  reply?: FastifyReply;
}

/**
 * What a key check may cost, by caller address. A check of a key not already known costs a scrypt on the registry (a
 * registry call elsewhere), so:
 * - failed checks are limited per address (AUTH_FAILURES_PER_MINUTE, bursts of AUTH_FAILURE_BURST), and the token is
 *   taken BEFORE the check: parallel guesses cannot all start before the first failure is counted. A valid key gives
 *   its token back, so an address sending valid keys never uses up its allowance;
 * - checks run at once are capped per address (AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS) and overall (AUTH_CHECKS_IN_FLIGHT):
 *   beyond, 429 at once rather than a queue that ends in timeouts.
 * Every 429 names the limit that was reached.
 */
export class FailedKeyChecks {
  private readonly buckets: TokenBuckets;
  private readonly perAddress = new Map<string, number>();
  private inFlight = 0;

  constructor(
    private readonly limits: FailedKeyCheckLimits,
    now: () => number = Date.now,
  ) {
    this.buckets = new TokenBuckets(
      limits.AUTH_FAILURES_PER_MINUTE / 60,
      limits.AUTH_FAILURE_BURST,
      100_000,
      now,
    );
  }

  /** Checks running now (all addresses). */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Reserves what a check from `address` needs (a failure token, a slot of the address, a slot overall) or throws the
   * 429 naming the limit reached (with Retry-After on `options.reply`).
   */
  begin(address: string, options: KeyCheckOptions = {}): KeyCheckTicket {
    const failure = options.failure !== false;
    const perAddress = options.perAddress !== false;
    if (this.inFlight >= this.limits.AUTH_CHECKS_IN_FLIGHT) {
      this.refuse(
        options.reply,
        1,
        `Too many API-key checks running at once on this service (limit AUTH_CHECKS_IN_FLIGHT=` +
          `${this.limits.AUTH_CHECKS_IN_FLIGHT}); retry in a moment, or raise AUTH_CHECKS_IN_FLIGHT.`,
      );
    }
    const running = this.perAddress.get(address) ?? 0;
    if (perAddress && running >= this.limits.AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS) {
      this.refuse(
        options.reply,
        1,
        `Too many API-key checks at once from this address (limit AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS=` +
          `${this.limits.AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS}); retry in a moment, or raise ` +
          'AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS.',
      );
    }
    const bucket = `ip:${address}`;
    if (failure) {
      const retryAfter = this.buckets.take(bucket);
      if (retryAfter !== 0) this.refuseFailures(retryAfter, options.reply);
    }
    if (perAddress) this.perAddress.set(address, running + 1);
    this.inFlight++;
    let settled = false;
    return {
      settle: (valid: boolean) => {
        if (settled) return;
        settled = true;
        this.inFlight--;
        if (perAddress) {
          const left = (this.perAddress.get(address) ?? 1) - 1;
          if (left > 0) this.perAddress.set(address, left);
          else this.perAddress.delete(address);
        }
        if (failure && valid) this.buckets.give(bucket);
      },
    };
  }

  /**
   * A failure answered without a check (a key already known to be unknown): counted like one, 429 once the address
   * has used up its failures.
   */
  fail(address: string, reply?: FastifyReply): void {
    const retryAfter = this.buckets.take(`ip:${address}`);
    if (retryAfter !== 0) this.refuseFailures(retryAfter, reply);
  }

  private refuseFailures(retryAfter: number, reply?: FastifyReply): never {
    this.refuse(
      reply,
      retryAfter,
      `Too many unknown or revoked API keys from this address (limit AUTH_FAILURES_PER_MINUTE=` +
        `${this.limits.AUTH_FAILURES_PER_MINUTE} per minute, bursts of AUTH_FAILURE_BURST=` +
        `${this.limits.AUTH_FAILURE_BURST}); retry after ${retryAfter} s with a valid key.`,
    );
  }

  private refuse(reply: FastifyReply | undefined, retryAfter: number, message: string): never {
    void reply?.header('retry-after', String(retryAfter));
    throw new HttpException(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}
