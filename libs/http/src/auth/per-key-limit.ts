import { TooManyRequestsError } from '@sepal/contracts';
import { TokenBuckets } from './rate-limit';

export interface PerKeyLimitSettings {
  /** What is counted, plural ("feedback samples"). */
  what: string;
  perMinute: number;
  burst: number;
  /** The variables that set them, named in the 429 so an operator knows what to raise. */
  rateVariable: string;
  burstVariable: string;
  /** false: `take` never refuses (a limit that applies only when callers can be told apart). Default true. */
  enabled?: boolean;
}

/**
 * A per-minute allowance by key name (token buckets: `burst` at once, then `perMinute`). `take` throws a
 * TooManyRequestsError (429) naming the key, the limit, the variable that raises it and when to retry.
 */
export class PerKeyLimit {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly settings: PerKeyLimitSettings,
    now?: () => number,
  ) {
    this.buckets = new TokenBuckets(settings.perMinute / 60, settings.burst, 100_000, now);
  }

  take(key: string): void {
    if (this.settings.enabled === false) return;
    const retryAfter = this.buckets.take(key);
    if (retryAfter === 0) return;
    const { what, perMinute, burst, rateVariable, burstVariable } = this.settings;
    throw new TooManyRequestsError(
      `key '${key.slice(0, 200)}' sent more ${what} than allowed: ${perMinute} per minute ` +
        `(${rateVariable}=${perMinute}), bursts of ${burst} (${burstVariable}=${burst})`,
      `Retry after ${retryAfter} s, or raise ${rateVariable} (and ${burstVariable}) on the service.`,
      { retryAfterSeconds: retryAfter, limit: rateVariable },
    );
  }
}

/** The feedback settings every app that takes feedback reads (the data service and the gateway). */
export interface FeedbackRateSettings {
  FEEDBACK_RATE_PER_KEY: number;
  FEEDBACK_BURST_PER_KEY: number;
  SEPAL_API_KEY?: string;
}

/**
 * The per-key feedback allowance (FEEDBACK_RATE_PER_KEY per minute, bursts of FEEDBACK_BURST_PER_KEY), with keys on.
 * Keys off, every caller is this machine and one "key": as for predictions there is no limit, so a user sending the
 * delayed labels of a day's predictions at full speed is not refused (issue 25: the defaults never refuse a caller).
 */
export function feedbackRateLimit(config: FeedbackRateSettings): PerKeyLimit {
  return new PerKeyLimit({
    enabled: Boolean(config.SEPAL_API_KEY),
    what: 'feedback samples',
    perMinute: config.FEEDBACK_RATE_PER_KEY,
    burst: config.FEEDBACK_BURST_PER_KEY,
    rateVariable: 'FEEDBACK_RATE_PER_KEY',
    burstVariable: 'FEEDBACK_BURST_PER_KEY',
  });
}
