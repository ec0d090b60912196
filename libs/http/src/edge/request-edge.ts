import { ForbiddenException, HttpException, type CanActivate } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { INestApplication } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NestRoute, nestRoutes, routeKey } from '../auth/route-table';
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
  /** The route a request is for (its access, controller and handler); undefined: not a guarded route. */
  routeOf: (request: FastifyRequest) => EdgeRoute | undefined;
}

export type EdgeRoute = Pick<NestRoute, 'access' | 'controller' | 'handler'>;

/** routeOf for a Nest app: its routes by method and Fastify URL, read at the first request (all registered by then). */
export function nestRouteLookup(app: INestApplication): (request: FastifyRequest) => EdgeRoute | undefined {
  let routes: Map<string, NestRoute> | undefined;
  return (request) => {
    const url = request.routeOptions.url;
    if (!url) return undefined;
    routes ??= nestRoutes(app);
    return routes.get(routeKey(request.method === 'HEAD' ? 'GET' : request.method, url));
  };
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
  fastify.addHook('onRequest', async (request, reply) => {
    const route = options.routeOf(request);
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
