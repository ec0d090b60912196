/**
 * Token buckets by caller: `ratePerSecond` sustained, `burst` at once. `take` answers 0 when the request may go, else
 * how many seconds until it may (the Retry-After). Idle buckets are dropped so the map stays small.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxCallers = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  take(caller: string): number {
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    if (!this.buckets.has(caller)) {
      if (this.buckets.size >= this.maxCallers) this.dropFull(now);
      this.buckets.set(caller, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }

  /** Gives back a token taken by `take` (a reservation that turned out not to count), up to the burst. */
  give(caller: string): void {
    const bucket = this.buckets.get(caller);
    if (bucket) bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
  }

  /** Seconds until `caller` may go (0: now), without taking a token: for limits charged only after the fact. */
  wait(caller: string): number {
    const bucket = this.buckets.get(caller);
    if (!bucket) return 0;
    const tokens = Math.min(
      this.burst,
      bucket.tokens + ((this.now() - bucket.at) / 1000) * this.ratePerSecond,
    );
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond));
  }

  private dropFull(now: number): void {
    for (const [caller, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(caller);
    }
    if (this.buckets.size >= this.maxCallers) this.buckets.clear();
  }
}
