import {
  ExecutionContext,
  ForbiddenException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { KeyIdentity } from '@sepal/contracts';
import { KeyVerifier } from './key-verifier';
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

function context(handler: keyof Endpoints, headers: Record<string, string> = {}) {
  const request: Record<string, unknown> = { headers };
  const ctx = {
    getType: () => 'http',
    getHandler: () => Endpoints.prototype[handler],
    getClass: () => Endpoints,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { ctx, request };
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
});
