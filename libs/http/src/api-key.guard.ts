import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const API_KEY_OPTIONS = Symbol('API_KEY_OPTIONS');
export interface ApiKeyOptions {
  apiKey?: string;
  readRequiresKey: boolean;
}

const CHANGES_STATE = 'sepal:changes-state';
/** Marks an endpoint that changes state: it needs the API key whenever one is configured. */
export const ChangesState = () => SetMetadata(CHANGES_STATE, true);

/** Probes and scrapes stay open whatever the configuration: orchestrators and Prometheus carry no key. */
const ALWAYS_OPEN = /^\/(health\/|v2\/health\/|metrics(\?|$))/;

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly options: ApiKeyOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.options.apiKey || context.getType() !== 'http') return true;
    const changesState = this.reflector.getAllAndOverride<boolean>(CHANGES_STATE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!changesState && (!this.options.readRequiresKey || ALWAYS_OPEN.test(request.url ?? ''))) return true;
    const header = request.headers['x-api-key'];
    const bearer = request.headers.authorization?.replace(/^Bearer\s+/i, '');
    const given = (Array.isArray(header) ? header[0] : header) ?? bearer;
    if (given && sameSecret(given, this.options.apiKey)) return true;
    throw new UnauthorizedException('This endpoint needs the API key: send it in the X-API-Key header.');
  }
}
