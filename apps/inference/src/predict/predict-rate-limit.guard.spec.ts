import { ExecutionContext, HttpException } from '@nestjs/common';
import { InferenceConfig } from '../inference.config';
import { PredictRateLimitGuard, PredictRateLimits } from './predict-rate-limit.guard';

const context = (keyName?: string) => {
  const headers: Record<string, string> = {};
  return {
    headers,
    ctx: {
      switchToHttp: () => ({
        getRequest: () => ({ sepalKey: keyName ? { name: keyName, scopes: ['predict'] } : undefined }),
        getResponse: () => ({ header: (name: string, value: string) => (headers[name] = value) }),
      }),
    } as unknown as ExecutionContext,
  };
};

describe('PredictRateLimitGuard', () => {
  const guardFor = (env: Record<string, string>) =>
    new PredictRateLimitGuard(new PredictRateLimits(InferenceConfig.load(env)));

  it('never limits on the default configuration, with keys off or on', () => {
    for (const env of [{}, { SEPAL_API_KEY: 'a-bootstrap-admin-key' }] as Record<string, string>[]) {
      const guard = guardFor(env);
      for (let i = 0; i < 5_000; i++) expect(guard.canActivate(context('shop').ctx)).toBe(true);
    }
  });

  it('never limits with keys off, even with PREDICT_RATE_PER_KEY set (there is no key to count by)', () => {
    const guard = guardFor({ PREDICT_RATE_PER_KEY: '1', PREDICT_BURST_PER_KEY: '1' });
    for (let i = 0; i < 10; i++) expect(guard.canActivate(context().ctx)).toBe(true);
  });

  it('with keys on and a rate set, limits each key on its own; the 429 names the limit and how to raise it', () => {
    const guard = guardFor({
      SEPAL_API_KEY: 'a-bootstrap-admin-key',
      PREDICT_RATE_PER_KEY: '0.5',
      PREDICT_BURST_PER_KEY: '2',
    });
    expect(guard.canActivate(context('shop').ctx)).toBe(true);
    expect(guard.canActivate(context('shop').ctx)).toBe(true);
    const limited = context('shop');
    expect(() => guard.canActivate(limited.ctx)).toThrow(HttpException);
    expect(limited.headers['retry-after']).toBe('2');
    expect(() => guard.canActivate(context('shop').ctx)).toThrow(
      /key "shop" \(limit PREDICT_RATE_PER_KEY=0.5 per second per key, bursts of PREDICT_BURST_PER_KEY=2\).*raise PREDICT_RATE_PER_KEY/,
    );
    expect(guard.canActivate(context('other').ctx)).toBe(true);
  });
});
