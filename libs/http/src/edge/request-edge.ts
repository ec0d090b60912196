import { ForbiddenException, HttpException, type CanActivate } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NestRoute, routeKey } from '../auth/route-table';
import { KEY_CHECKED } from '../auth/scopes.decorators';
import { errorBodyOf } from '../domain-exception.filter';
import { localOnlyRefusal } from './local-only';

export interface RequestEdgeOptions {
  /** false: keys are off, so the app serves this machine only (localOnlyRefusal). */
  keysEnabled: boolean;
  /** SEPAL_ALLOWED_HOSTS: host names besides loopback a keyless app answers. */
  allowedHosts: readonly string[];
  /** The app's ScopeGuard: run here, on the route's handler, before the body is read. */
  guard: CanActivate;
  /** The app's Nest routes (read once, at the first request: every route is registered by then). */
  routes: () => Map<string, NestRoute>;
}

const sendError = (reply: FastifyReply, error: unknown) => {
  const body = errorBodyOf(error);
  return reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
};

/**
 * Nothing before the key: Fastify's first hook (onRequest, before a byte of the body is read or parsed) runs the
 * scope guard on the route's Nest handler, so an unauthenticated or out-of-scope request is answered 401/403 (or 429)
 * with its body unread; the guard, as the second line, then lets the checked request through. With keys off it
 * applies the this-machine-only rules instead (Host, Sec-Fetch-Site, Origin, the client header).
 */
export function installRequestEdge(fastify: FastifyInstance, options: RequestEdgeOptions): void {
  let routes: Map<string, NestRoute> | undefined;
  fastify.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    routes ??= options.routes();
    const route = url
      ? routes.get(routeKey(request.method === 'HEAD' ? 'GET' : request.method, url))
      : undefined;
    if (!options.keysEnabled) {
      const refusal = localOnlyRefusal(
        { method: request.method, headers: request.headers, prediction: route?.access === 'predict' },
        options.allowedHosts,
      );
      if (refusal) return sendError(reply, new HttpException(refusal.message, refusal.statusCode));
      return;
    }
    if (!route || route.access === 'public') return;
    try {
      const context = new ExecutionContextHost([request, reply], route.controller as never, route.handler);
      context.setType('http');
      if (!(await options.guard.canActivate(context))) return sendError(reply, new ForbiddenException());
      (request as unknown as Record<symbol, boolean>)[KEY_CHECKED] = true;
    } catch (error) {
      return sendError(reply, error);
    }
  });
}
