import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * A request to a Nest app in this process through Fastify's inject (no socket), as a keyless local client sends it
 * (`X-Sepal-Client: 1`); `headers` add to or override that.
 */
export function inject(
  app: NestFastifyApplication,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  headers?: Record<string, string>,
) {
  return app
    .getHttpAdapter()
    .getInstance()
    .inject({ method, url, payload: payload as object, headers: { 'x-sepal-client': '1', ...headers } });
}
