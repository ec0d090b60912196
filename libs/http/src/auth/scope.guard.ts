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
import { hasScope, type KeyIdentity } from '@sepal/contracts';
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
  /** What key checks may cost by caller address (failures, checks at once): 429 before a check beyond. */
  failures?: FailedKeyChecks;
}

export const HOW_TO_SEND_A_KEY =
  'Send an API key in the X-API-Key header (or Authorization: Bearer <key>); an admin makes one with `sepal keys create <name> --scopes ...`.';

/**
 * The one guard of every app: `@Public()` routes are open; every other route needs a key with the scope its
 * `@RequireScope` names, and `admin` when it names none (safe by default). 401: no key or an unknown/revoked one;
 * 403: a valid key without the scope (the message names it); 429: too many unknown keys from the caller's address,
 * or too many checks at once (FailedKeyChecks). The caller's address is `request.ip`: the socket's, or the client's
 * as forwarded by a proxy listed in SEPAL_TRUSTED_PROXIES.
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
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const identity = await this.identify(secret, request.ip, reply);
    if (!identity) throw new UnauthorizedException(`The API key is unknown or revoked. ${HOW_TO_SEND_A_KEY}`);
    request.sepalKey = identity;
    if (required === 'authenticated' || hasScope(identity.scopes, required)) return true;
    throw new ForbiddenException(
      `The key "${identity.name}" lacks the scope "${required}" (it has: ${identity.scopes.join(', ')}); ` +
        `ask an admin for a key with "${required}".`,
    );
  }

  /**
   * Who `secret` is. A cached answer costs nothing more (a known-unknown key still counts as a failure of the address).
   * Otherwise the check reserves its failure token and slots first (429 when the address or the service is at its
   * limit); a key that was valid when last checked takes no failure token, so a valid key passes even from an address
   * that sent bad ones.
   */
  private async identify(secret: string, address: string, reply: FastifyReply): Promise<KeyIdentity | null> {
    const { verifier, failures } = this.options;
    const known = verifier.known?.(secret);
    if (known !== undefined) {
      if (known === null) failures?.fail(address, reply);
      return known;
    }
    // The same key already being checked (a client's parallel first requests): share that check, no new slot.
    const shared = verifier.inFlight?.(secret);
    if (shared) {
      const identity = await this.checked(shared);
      if (identity === null) failures?.fail(address, reply);
      return identity;
    }
    const ticket = failures?.begin(address, { failure: !verifier.wasValid?.(secret), reply });
    let identity: KeyIdentity | null = null;
    try {
      identity = await this.checked(verifier.verify(secret));
    } finally {
      ticket?.settle(identity !== null);
    }
    return identity;
  }

  /** The check's answer; 503 when it cannot be had (the registry does not answer). */
  private async checked(check: Promise<KeyIdentity | null>): Promise<KeyIdentity | null> {
    try {
      return await check;
    } catch (error) {
      this.logger.warn(`cannot verify a key: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException(
        'The API key cannot be checked right now (the registry does not answer); retry shortly.',
      );
    }
  }
}
