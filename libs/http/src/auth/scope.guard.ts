import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScope } from '@sepal/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FailedKeyChecks } from './failed-key-checks';
import { KeyVerifier, presentedSecret } from './key-verifier';
import { PUBLIC_ROUTE } from '@sepal/observability';
import {
  ANONYMOUS,
  KEY_CHECKED,
  REQUIRED_SCOPE,
  RequestWithKey,
  RouteRequirement,
} from './scopes.decorators';

export interface ScopeGuardOptions {
  /** false: no keys are configured (loopback, or SEPAL_INSECURE): every caller is the anonymous admin. */
  enabled: boolean;
  verifier: KeyVerifier;
  /** Failed checks by caller address: 429 before any check beyond AUTH_FAILURES_PER_MINUTE. */
  failures?: FailedKeyChecks;
}

export const HOW_TO_SEND_A_KEY =
  'Send an API key in the X-API-Key header (or Authorization: Bearer <key>); an admin makes one with `sepal keys create <name> --scopes ...`.';

/**
 * The one guard of every app: `@Public()` routes are open; every other route needs a key with the scope its
 * `@RequireScope` names, and `admin` when it names none (safe by default). 401: no key or an unknown/revoked one;
 * 403: a valid key without the scope (the message names it); 429: too many unknown keys from the caller's address.
 */
@Injectable()
export class ScopeGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly options: ScopeGuardOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & RequestWithKey>();
    if ((request as { [KEY_CHECKED]?: boolean })[KEY_CHECKED] && request.sepalKey) return true;
    if (!this.options.enabled) {
      request.sepalKey = ANONYMOUS;
      return true;
    }
    const required = this.reflector.getAllAndOverride<RouteRequirement>(REQUIRED_SCOPE, targets) ?? 'admin';
    const secret = presentedSecret(request.headers);
    if (!secret) throw new UnauthorizedException(`This endpoint needs an API key. ${HOW_TO_SEND_A_KEY}`);
    this.options.failures?.refuseIfBlocked(request.ip, context.switchToHttp().getResponse<FastifyReply>());
    let identity;
    try {
      identity = await this.options.verifier.verify(secret);
    } catch (error) {
      this.logger.warn(`cannot verify a key: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException(
        'The API key cannot be checked right now (the registry does not answer); retry shortly.',
      );
    }
    if (!identity) {
      this.options.failures?.record(request.ip);
      throw new UnauthorizedException(`The API key is unknown or revoked. ${HOW_TO_SEND_A_KEY}`);
    }
    request.sepalKey = identity;
    if (required === 'authenticated' || hasScope(identity.scopes, required)) return true;
    throw new ForbiddenException(
      `The key "${identity.name}" lacks the scope "${required}" (it has: ${identity.scopes.join(', ')}); ` +
        `ask an admin for a key with "${required}".`,
    );
  }
}
