import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestWithKey, TokenBuckets } from '@sepal/http';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';

/**
 * The per-key rate limit of the prediction routes, one per gateway: the guard below and the lean body path of
 * POST /predict (http/fast-predict.ts) take from the same buckets, one per key name. Off unless keys are on and
 * PREDICT_RATE_PER_KEY is set (the default serves every caller at full speed).
 */
@Injectable()
export class PredictRateLimits {
  /** false: no limit (keys off, or PREDICT_RATE_PER_KEY=0). */
  readonly enabled: boolean;
  private readonly buckets: TokenBuckets;
  private readonly rate: number;
  private readonly burst: number;

  constructor(@Inject(InferenceConfig) config: InferenceConfigValues) {
    this.rate = config.PREDICT_RATE_PER_KEY;
    this.burst = config.PREDICT_BURST_PER_KEY ?? Math.max(1, Math.ceil(this.rate * 2));
    this.enabled = Boolean(config.SEPAL_API_KEY) && this.rate > 0;
    this.buckets = new TokenBuckets(this.rate, this.burst);
  }

  /** 0: the key may predict now; else the seconds to wait (the Retry-After). */
  take(keyName: string): number {
    return this.enabled ? this.buckets.take(keyName) : 0;
  }

  /** Gives back a token taken for a request that is then counted again (the lean path's replay through Fastify). */
  give(keyName: string): void {
    if (this.enabled) this.buckets.give(keyName);
  }

  /** The 429's message: which limit, its value, and how to raise it. */
  refusal(keyName: string, retryAfter: number): string {
    return (
      `Too many predictions for the key "${keyName}" (limit PREDICT_RATE_PER_KEY=${this.rate} per second per key, ` +
      `bursts of PREDICT_BURST_PER_KEY=${this.burst}); retry after ${retryAfter} s, or raise PREDICT_RATE_PER_KEY ` +
      '(0: no limit) on the gateway.'
    );
  }
}

/** The per-key rate limit of the prediction routes: 429 with Retry-After beyond it (see PredictRateLimits). */
@Injectable()
export class PredictRateLimitGuard implements CanActivate {
  constructor(private readonly limits: PredictRateLimits) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.limits.enabled) return true;
    const http = context.switchToHttp();
    const key = http.getRequest<FastifyRequest & RequestWithKey>().sepalKey?.name ?? 'anonymous';
    const retryAfter = this.limits.take(key);
    if (retryAfter === 0) return true;
    void http.getResponse<FastifyReply>().header('retry-after', String(retryAfter));
    throw new HttpException(this.limits.refusal(key, retryAfter), HttpStatus.TOO_MANY_REQUESTS);
  }
}
