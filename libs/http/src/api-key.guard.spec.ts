import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyGuard, ChangesState } from './api-key.guard';

class Endpoints {
  @ChangesState()
  promote(): void {}

  read(): void {}
}

function context(handler: keyof Endpoints, headers: Record<string, string>, url = '/runs'): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => Endpoints.prototype[handler],
    getClass: () => Endpoints,
    switchToHttp: () => ({ getRequest: () => ({ headers, url }) }),
  } as unknown as ExecutionContext;
}

describe('ApiKeyGuard', () => {
  const reflector = new Reflector();
  const guarded = new ApiKeyGuard(reflector, { apiKey: 'secret-key-123', readRequiresKey: false });

  it('lets everything through when no key is configured', () => {
    const open = new ApiKeyGuard(reflector, { readRequiresKey: true });
    expect(open.canActivate(context('promote', {}))).toBe(true);
  });

  it('requires the key on endpoints that change state, in X-API-Key or as a bearer token', () => {
    expect(() => guarded.canActivate(context('promote', {}))).toThrow(UnauthorizedException);
    expect(() => guarded.canActivate(context('promote', { 'x-api-key': 'wrong' }))).toThrow(/X-API-Key/);
    expect(guarded.canActivate(context('promote', { 'x-api-key': 'secret-key-123' }))).toBe(true);
    expect(guarded.canActivate(context('promote', { authorization: 'Bearer secret-key-123' }))).toBe(true);
  });

  it('leaves read endpoints open unless configured otherwise', () => {
    expect(guarded.canActivate(context('read', {}))).toBe(true);
    const closed = new ApiKeyGuard(reflector, { apiKey: 'secret-key-123', readRequiresKey: true });
    expect(() => closed.canActivate(context('read', {}))).toThrow(UnauthorizedException);
  });

  it('keeps health probes and the metrics scrape open even when reads need the key', () => {
    const closed = new ApiKeyGuard(reflector, { apiKey: 'secret-key-123', readRequiresKey: true });
    for (const url of ['/health/ready', '/v2/health/live', '/metrics']) {
      expect(closed.canActivate(context('read', {}, url))).toBe(true);
    }
    expect(() => closed.canActivate(context('read', {}, '/metricsx'))).toThrow(UnauthorizedException);
  });
});
