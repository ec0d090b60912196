import { TooManyRequestsError } from '@sepal/contracts';
import { feedbackRateLimit, PerKeyLimit } from './per-key-limit';

describe('PerKeyLimit', () => {
  const settings = {
    what: 'feedback samples',
    perMinute: 60,
    burst: 2,
    rateVariable: 'FEEDBACK_RATE_PER_KEY',
    burstVariable: 'FEEDBACK_BURST_PER_KEY',
  };

  it('lets a burst through per key, then answers 429 naming the key, the limit and the variable', () => {
    let now = 0;
    const limit = new PerKeyLimit(settings, () => now);
    limit.take('shop');
    limit.take('shop');
    limit.take('other');
    expect(() => limit.take('shop')).toThrow(TooManyRequestsError);
    expect(() => limit.take('shop')).toThrow(
      /key 'shop' sent more feedback samples than allowed: 60 per minute \(FEEDBACK_RATE_PER_KEY=60\)/,
    );
    now = 1_000;
    expect(() => limit.take('shop')).not.toThrow();
  });

  it('says when to retry and what to raise', () => {
    const limit = new PerKeyLimit({ ...settings, burst: 1 }, () => 0);
    limit.take('k');
    try {
      limit.take('k');
      throw new Error('not refused');
    } catch (error) {
      expect(error).toBeInstanceOf(TooManyRequestsError);
      expect((error as TooManyRequestsError).hint).toMatch(/Retry after 1 s, or raise FEEDBACK_RATE_PER_KEY/);
    }
  });

  it('feedback: limited per key with keys on, never refused with keys off (one caller: this machine)', () => {
    const rates = { FEEDBACK_RATE_PER_KEY: 60, FEEDBACK_BURST_PER_KEY: 1 };
    const keysOn = feedbackRateLimit({ ...rates, SEPAL_API_KEY: 'c0ffee42deadbeef9f8e7d6c5b4a3928' });
    keysOn.take('shop');
    expect(() => keysOn.take('shop')).toThrow(TooManyRequestsError);
    const keysOff = feedbackRateLimit(rates);
    for (let i = 0; i < 1000; i++) keysOff.take('anonymous');
  });
});
