import {
  ExecutionContext,
  ForbiddenException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { KeyIdentity } from '@sepal/contracts';
import { FailedKeyChecks } from './failed-key-checks';
import { CachedKeyVerifier, KeyVerifier } from './key-verifier';
import { ScopeGuard } from './scope.guard';
import { Authenticated, Public, RequireScope } from './scopes.decorators';

class Endpoints {
  @RequireScope('promote')
  promote(): void {}

  @RequireScope('predict')
  predict(): void {}

  @Public()
  health(): void {}

  @Authenticated()
  self(): void {}

  forgotten(): void {}
}

function context(handler: keyof Endpoints, headers: Record<string, string> = {}, ip = '10.0.0.1') {
  const request: Record<string, unknown> = { headers, ip };
  const replyHeaders: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => (replyHeaders[name] = value) };
  const ctx = {
    getType: () => 'http',
    getHandler: () => Endpoints.prototype[handler],
    getClass: () => Endpoints,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ExecutionContext;
  return { ctx, request, replyHeaders };
}

const keys: Record<string, KeyIdentity> = {
  'predict-secret': { name: 'shop', scopes: ['predict'] },
  'admin-secret': { name: 'root', scopes: ['admin'] },
};
const verifier: KeyVerifier = { verify: async (secret) => keys[secret] ?? null };

describe('ScopeGuard', () => {
  const reflector = new Reflector();
  const guard = new ScopeGuard(reflector, { enabled: true, verifier });

  it('answers 401 saying how to send a key when none is sent, or an unknown one', async () => {
    await expect(guard.canActivate(context('predict').ctx)).rejects.toThrow(UnauthorizedException);
    await expect(guard.canActivate(context('predict').ctx)).rejects.toThrow(/X-API-Key/);
    await expect(guard.canActivate(context('predict', { 'x-api-key': 'nope' }).ctx)).rejects.toThrow(
      /unknown or revoked/,
    );
  });

  it('answers 403 naming the missing scope, and lets a key with it through (X-API-Key or bearer)', async () => {
    const denied = guard.canActivate(context('promote', { 'x-api-key': 'predict-secret' }).ctx);
    await expect(denied).rejects.toThrow(ForbiddenException);
    await expect(
      guard.canActivate(context('promote', { 'x-api-key': 'predict-secret' }).ctx),
    ).rejects.toThrow(/"promote"/);
    const { ctx, request } = context('predict', { authorization: 'Bearer predict-secret' });
    expect(await guard.canActivate(ctx)).toBe(true);
    expect(request.sepalKey).toEqual({ name: 'shop', scopes: ['predict'] });
  });

  it('needs admin on a route with no annotation (safe by default); admin implies every scope', async () => {
    await expect(
      guard.canActivate(context('forgotten', { 'x-api-key': 'predict-secret' }).ctx),
    ).rejects.toThrow(/"admin"/);
    expect(await guard.canActivate(context('forgotten', { 'x-api-key': 'admin-secret' }).ctx)).toBe(true);
    expect(await guard.canActivate(context('promote', { 'x-api-key': 'admin-secret' }).ctx)).toBe(true);
  });

  it('opens @Public routes without a key and @Authenticated routes to any valid key', async () => {
    expect(await guard.canActivate(context('health').ctx)).toBe(true);
    expect(await guard.canActivate(context('self', { 'x-api-key': 'predict-secret' }).ctx)).toBe(true);
    await expect(guard.canActivate(context('self').ctx)).rejects.toThrow(UnauthorizedException);
  });

  it('answers 503 when the key cannot be checked, and lets everyone in as anonymous when keys are off', async () => {
    const down = new ScopeGuard(reflector, {
      enabled: true,
      verifier: { verify: () => Promise.reject(new Error('ECONNREFUSED')) },
    });
    await expect(down.canActivate(context('predict', { 'x-api-key': 'x' }).ctx)).rejects.toThrow(
      ServiceUnavailableException,
    );
    const off = new ScopeGuard(reflector, { enabled: false, verifier });
    const { ctx, request } = context('forgotten');
    expect(await off.canActivate(ctx)).toBe(true);
    expect(request.sepalKey).toEqual({ name: 'anonymous', scopes: ['admin'] });
  });

  describe('with the key-check limits', () => {
    const limits = {
      AUTH_FAILURES_PER_MINUTE: 60,
      AUTH_FAILURE_BURST: 3,
      AUTH_CHECKS_IN_FLIGHT: 8,
      AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS: 2,
    };
    /** A store whose checks are answered when the test says so, counting them. */
    const slowStore = () => {
      const waiting: (() => void)[] = [];
      const store = {
        checks: 0,
        release: () => waiting.splice(0).forEach((go) => go()),
        verify: (secret: string) => {
          store.checks++;
          return new Promise<KeyIdentity | null>((resolve) =>
            waiting.push(() => resolve(keys[secret] ?? null)),
          );
        },
      };
      return store;
    };
    const settle = (promises: Promise<unknown>[]) => Promise.allSettled(promises);
    const status = (result: PromiseSettledResult<unknown>) =>
      result.status === 'fulfilled' ? 200 : (result.reason as { getStatus(): number }).getStatus();

    it('reserves before checking: parallel guesses from one address start at most the slots, the rest are 429 at once', async () => {
      const store = slowStore();
      const now = 0;
      const failures = new FailedKeyChecks(limits, () => now);
      const limited = new ScopeGuard(reflector, {
        enabled: true,
        verifier: new CachedKeyVerifier(store, 4_000, 100, () => now),
        failures,
      });
      const guesses = Array.from({ length: 50 }, (_, i) =>
        limited.canActivate(context('predict', { 'x-api-key': `guess-${i}` }).ctx),
      );
      expect(store.checks).toBe(2);
      store.release();
      const results = await settle(guesses);
      expect(results.map(status).filter((s) => s === 401)).toHaveLength(2);
      expect(results.map(status).filter((s) => s === 429)).toHaveLength(48);
      expect(failures.running).toBe(0);
      // The third failure token is still there; after it the address is refused before any check.
      const third = limited.canActivate(context('predict', { 'x-api-key': 'guess-x' }).ctx);
      store.release();
      await expect(third).rejects.toThrow(UnauthorizedException);
      const more = context('predict', { 'x-api-key': 'guess-y' });
      await expect(limited.canActivate(more.ctx)).rejects.toThrow(/AUTH_FAILURES_PER_MINUTE=60/);
      expect(more.replyHeaders['retry-after']).toBe('1');
      expect(store.checks).toBe(3);
    });

    it('caps the checks running at once overall with a fast 429 naming AUTH_CHECKS_IN_FLIGHT', async () => {
      const store = slowStore();
      const limited = new ScopeGuard(reflector, {
        enabled: true,
        verifier: store,
        failures: new FailedKeyChecks({ ...limits, AUTH_CHECKS_IN_FLIGHT: 3 }, () => 0),
      });
      const calls = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) =>
        limited.canActivate(context('predict', { 'x-api-key': 'predict-secret' }, ip).ctx),
      );
      const results = await Promise.race([settle([calls[3]]), new Promise((r) => setImmediate(r))]);
      expect(results).toEqual([
        {
          status: 'rejected',
          reason: expect.objectContaining({ message: expect.stringMatching(/AUTH_CHECKS_IN_FLIGHT=3/) }),
        },
      ]);
      store.release();
      expect((await settle(calls.slice(0, 3))).map(status)).toEqual([200, 200, 200]);
    });

    it('lets a valid key through from an address that used up its failures, and never charges valid keys', async () => {
      let now = 0;
      const store = { verify: async (secret: string) => keys[secret] ?? null };
      const limited = new ScopeGuard(reflector, {
        enabled: true,
        verifier: new CachedKeyVerifier(store, 1_000, 100, () => now),
        failures: new FailedKeyChecks({ ...limits, AUTH_FAILURES_PER_MINUTE: 1 }, () => now),
      });
      const from = (secret: string) =>
        limited.canActivate(context('predict', { 'x-api-key': secret }, '10.9.9.9').ctx);
      for (let i = 0; i < 5; i++) expect(await from('predict-secret')).toBe(true);
      for (let i = 0; i < 3; i++) await expect(from(`bad-${i}`)).rejects.toThrow(UnauthorizedException);
      await expect(from('bad-3')).rejects.toThrow(/AUTH_FAILURES_PER_MINUTE/);
      // Cached: no check at all. Expired: checked again, as a key that was valid (no failure token needed).
      expect(await from('predict-secret')).toBe(true);
      now = 2_000;
      expect(await from('predict-secret')).toBe(true);
      // A key never seen valid is a guess like any other: refused before a check.
      await expect(from('admin-secret')).rejects.toThrow(/AUTH_FAILURES_PER_MINUTE/);
    });
  });
});
