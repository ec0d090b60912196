import { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  Authenticated,
  CachedKeyVerifier,
  type EdgeRoute,
  FailedKeyChecks,
  installRequestEdge,
  parseAllowedHosts,
  RegistryKeyVerifier,
  ScopeGuard,
} from '@sepal/http';
import { ConsoleConfigValues } from './console.config';

/** What a proxied call with a body needs at the console: a valid key (the service then checks its scope). */
@Authenticated()
class ProxiedCallWithBody {
  forward(): void {}
}

const PROXIED_CALL: EdgeRoute = {
  access: 'authenticated',
  controller: ProxiedCallWithBody,
  handler: ProxiedCallWithBody.prototype.forward as EdgeRoute['handler'],
};

const carriesBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * The console's edge, as every app's: keyless, this machine only (Host, Origin, Sec-Fetch-Site, the client header);
 * with keys, a proxied call that carries a body needs a valid key (checked with the registry, cached) before a byte
 * of it is read. The service behind then checks the key's scope before reading the body the proxy streams to it.
 */
export function installConsoleEdge(fastify: FastifyInstance, config: ConsoleConfigValues): void {
  const keysEnabled = Boolean(config.SEPAL_API_KEY);
  installRequestEdge(fastify, {
    keysEnabled,
    allowedHosts: parseAllowedHosts(config.SEPAL_ALLOWED_HOSTS),
    guard: new ScopeGuard(new Reflector(), {
      enabled: keysEnabled,
      verifier: new CachedKeyVerifier(
        new RegistryKeyVerifier(config.REGISTRY_URL, config.SEPAL_API_KEY),
        config.SEPAL_KEY_CACHE_MS,
      ),
      failures: new FailedKeyChecks(config),
    }),
    routeOf: (request) =>
      request.url.startsWith('/api/') && (carriesBody(request) || request.method !== 'GET')
        ? PROXIED_CALL
        : undefined,
  });
}

/**
 * The console's pages may run only their own scripts, talk only to their own origin and never be framed (clickjacking):
 * a strict Content-Security-Policy on every answer, with nosniff and no referrer.
 */
export function installSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (_request, reply) => {
    void reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'",
    );
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
  });
}
