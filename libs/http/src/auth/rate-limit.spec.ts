import { TokenBuckets } from './rate-limit';

describe('TokenBuckets', () => {
  it('lets a burst through, then the rate, and says how long to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets(2, 3, 100, () => now);
    expect([1, 2, 3].map(() => buckets.take('shop'))).toEqual([0, 0, 0]);
    expect(buckets.take('shop')).toBe(1);
    expect(buckets.take('other')).toBe(0);
    now = 500;
    expect(buckets.take('shop')).toBe(0);
    expect(buckets.take('shop')).toBeGreaterThanOrEqual(1);
  });

  it('tells how long to wait without taking a token (a limit charged after the fact)', () => {
    let now = 0;
    const buckets = new TokenBuckets(1, 2, 100, () => now);
    expect(buckets.wait('guesser')).toBe(0);
    buckets.take('guesser');
    buckets.take('guesser');
    expect(buckets.wait('guesser')).toBe(1);
    expect(buckets.wait('guesser')).toBe(1);
    now = 1_000;
    expect(buckets.wait('guesser')).toBe(0);
    expect(buckets.take('guesser')).toBe(0);
  });

  it('takes a token back that was reserved for nothing, never above the burst', () => {
    const now = 0;
    const buckets = new TokenBuckets(1, 2, 100, () => now);
    buckets.take('a');
    buckets.take('a');
    expect(buckets.wait('a')).toBe(1);
    buckets.give('a');
    expect(buckets.take('a')).toBe(0);
    buckets.give('a');
    buckets.give('a');
    buckets.give('a');
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 1]);
  });
});
