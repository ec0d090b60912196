import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestWithKey, TokenBuckets } from '@sepal/http';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';

/**
 * The token buckets of the prediction routes, one set per gateway: the guard below and the lean body path of
 * POST /predict (http/fast-predict.ts) take from the same buckets.
 */
@Injectable()
export class PredictRateLimits {
  readonly buckets: TokenBuckets;

  constructor(@Inject(InferenceConfig) config: InferenceConfigValues) {
    this.buckets = new TokenBuckets(config.PREDICT_RATE_PER_KEY, config.PREDICT_BURST_PER_KEY);
  }
}

/**
 * The per-key rate limit of the prediction routes (PREDICT_RATE_PER_KEY per second, PREDICT_BURST_PER_KEY at once):
 * 429 with Retry-After beyond it. Without keys the caller's address is the bucket.
 */
@Injectable()
export class PredictRateLimitGuard implements CanActivate {
  private readonly buckets: TokenBuckets;

  constructor(limits: PredictRateLimits) {
    this.buckets = limits.buckets;
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & RequestWithKey>();
    const caller =
      request.sepalKey && request.sepalKey.name !== 'anonymous'
        ? `key:${request.sepalKey.name}`
        : `ip:${request.ip}`;
    const retryAfter = this.buckets.take(caller);
    if (retryAfter === 0) return true;
    void http.getResponse<FastifyReply>().header('retry-after', String(retryAfter));
    throw new HttpException(
      `Too many predictions for this key (limit PREDICT_RATE_PER_KEY per second, bursts of PREDICT_BURST_PER_KEY); ` +
        `retry after ${retryAfter} s, or ask for a higher limit.`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
