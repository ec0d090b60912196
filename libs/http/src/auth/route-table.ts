import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTE } from '@sepal/observability';
import { REQUIRED_SCOPE } from './scopes.decorators';

/** Every route Fastify registered, recorded by an onRoute hook installed before any route (see createHttpApp). */
const registered = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

export function recordRoutes(fastify: FastifyInstance): void {
  const routes: { method: string; url: string }[] = [];
  registered.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url });
    }
  });
}

/** Served straight by Fastify, open on purpose: the Prometheus scrape and the OpenAPI docs (no secret in either). */
export const OPEN_ON_PURPOSE = /^\/(metrics|docs|docs\/json|docs\/swagger-ui[\w.-]*\.(js|css))$/;

export interface RouteRow {
  method: string;
  path: string;
  /** A scope, `authenticated`, `public` (@Public), `open` (OPEN_ON_PURPOSE) or `UNGUARDED` (nothing says). */
  access: string;
}

const join = (...parts: string[]) =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;

/** A Nest route: where Fastify serves it, the controller and handler that answer it, and what it needs. */
export interface NestRoute {
  method: string;
  path: string;
  controller: new (...args: never[]) => unknown;
  handler: (...args: unknown[]) => unknown;
  /** A scope, `authenticated`, `public` (@Public) or `UNGUARDED` (nothing says). */
  access: string;
}

/** Every Nest route of `app` by `METHOD /path` (the path as Fastify registers it, e.g. `/models/:name`). */
export function nestRoutes(app: INestApplication): Map<string, NestRoute> {
  const routes = new Map<string, NestRoute>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller?.prototype) continue;
      const base = (Reflect.getMetadata(PATH_METADATA, controller) as string | undefined) ?? '';
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        const isPublic =
          Reflect.getMetadata(PUBLIC_ROUTE, handler) === true ||
          Reflect.getMetadata(PUBLIC_ROUTE, controller) === true;
        const scope =
          (Reflect.getMetadata(REQUIRED_SCOPE, handler) as string | undefined) ??
          (Reflect.getMetadata(REQUIRED_SCOPE, controller) as string | undefined);
        for (const p of [path].flat()) {
          const route = {
            method: RequestMethod[method],
            path: join(base, p),
            controller,
            handler: handler as NestRoute['handler'],
            access: isPublic ? 'public' : (scope ?? 'UNGUARDED'),
          };
          routes.set(`${route.method} ${route.path}`, route);
        }
      }
    }
  }
  return routes;
}

/** A route path as Fastify reports it, without a trailing slash: the key of nestRoutes. */
export const routeKey = (method: string, url: string): string =>
  `${method} ${url.length > 1 ? url.replace(/\/+$/, '') : url}`;

/**
 * The route table of a running app: every route Fastify serves with what it needs. A Nest route names its access with
 * @RequireScope/@Public on the handler or its controller; anything else Fastify serves must be OPEN_ON_PURPOSE. An
 * `UNGUARDED` row is a route nobody decided about (the guard would ask for admin; the route table test fails on it).
 */
export function routeTable(app: INestApplication): RouteRow[] {
  const nest = nestRoutes(app);
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const routes = registered.get(fastify);
  if (!routes)
    throw new Error('routeTable: this app was not made by createHttpApp (its routes were not recorded)');
  return routes.map(({ method, url }) => {
    const key = routeKey(method, url);
    const path = key.slice(method.length + 1);
    const access = nest.get(key)?.access ?? (OPEN_ON_PURPOSE.test(path) ? 'open' : 'UNGUARDED');
    return { method, path, access };
  });
}
