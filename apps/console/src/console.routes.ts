import { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConsoleConfigValues } from './console.config';
import { JobsStreamService, MAX_STREAM_JOBS } from './jobs-stream/jobs-stream.service';
import { ProxyService } from './proxy/proxy.service';
import { StaticFilesService } from './web/static-files.service';

export interface ConsoleRouteDeps {
  config: ConsoleConfigValues;
  proxy: ProxyService;
  jobs: JobsStreamService;
  files: StaticFilesService;
}

const problem = (reply: FastifyReply, status: number, message: string) =>
  reply.status(status).type('application/json; charset=utf-8').send({ statusCode: status, message });

const keyHeaders = (request: FastifyRequest): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const name of ['x-api-key', 'authorization']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  // The browser's address, for services that list the console in SEPAL_TRUSTED_PROXIES.
  headers['x-forwarded-for'] = request.ip;
  return headers;
};

/**
 * Routes that are not Nest controllers because they stream or take any body: the API proxy, the job event stream and
 * the single-page app. Registered in their own Fastify scope, whose only body parser hands over the request's stream:
 * the proxy streams it to the service untouched, counting it against CONSOLE_MAX_BODY_BYTES, never buffering it.
 */
export function installConsoleRoutes(fastify: FastifyInstance, deps: ConsoleRouteDeps): void {
  const limit = deps.config.CONSOLE_MAX_BODY_BYTES;
  void fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return problem(reply, 413, `body: larger than the limit of ${limit} bytes (CONSOLE_MAX_BODY_BYTES)`);
      }
      return problem(
        reply,
        error.statusCode && error.statusCode < 500 ? error.statusCode : 500,
        error.message,
      );
    });

    scope.get('/api/console/jobs/events', (request, reply) => {
      const raw = (request.query as Record<string, string | undefined>).maxResults ?? '50';
      const maxResults = Number(raw);
      if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_STREAM_JOBS) {
        return problem(
          reply,
          400,
          `maxResults: must be an integer from 1 to ${MAX_STREAM_JOBS}, got '${raw}'`,
        );
      }
      if (!deps.jobs.hasRoom()) {
        return problem(
          reply,
          503,
          `too many open job streams (the limit is ${deps.config.CONSOLE_MAX_STREAMS}, CONSOLE_MAX_STREAMS); retry later`,
        );
      }
      reply.hijack();
      deps.jobs.stream(reply.raw, { headers: keyHeaders(request), maxResults });
    });

    scope.all('/api/:service/*', async (request, reply) => {
      const { service } = request.params as { service: string };
      const prefix = `/api/${service}`;
      const answer = await deps.proxy.forward({
        service,
        path: request.url.slice(prefix.length) || '/',
        method: request.method,
        headers: request.headers,
        body: request.body instanceof Readable ? request.body : undefined,
        clientAddress: request.ip,
      });
      void reply.status(answer.status).headers(answer.headers);
      return reply.send(answer.body);
    });

    scope.get('/*', (request, reply) => {
      const answer = deps.files.answer(request.url);
      return reply
        .status(answer.status)
        .type(answer.type)
        .header('cache-control', answer.cacheControl)
        .send(answer.body);
    });
  });
}
