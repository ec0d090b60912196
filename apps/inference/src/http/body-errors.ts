import type { FastifyError, FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';

/** Clear messages for what Fastify rejects before a handler runs: bad JSON, body too large, wrong content type. */
export function bodyErrorMessage(error: FastifyError, limitBytes: number): string | null {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `body: unsupported content type; send JSON with Content-Type: application/json`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body: larger than the limit of ${limitBytes} bytes (MAX_BODY_BYTES)`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: empty, but Content-Type is application/json; send a JSON object';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'body: its length does not match the Content-Length header';
    default:
      if (error instanceof SyntaxError || error.statusCode === 400)
        return `body: malformed JSON (${error.message})`;
      return null;
  }
}

/** The routes that take multipart/form-data (image uploads); any other answers 415 to it as before. */
const MULTIPART_ROUTES = new Set(['/predict', '/predict/:model']);

/**
 * The gateway reads JSON (and, on the prediction routes, multipart/form-data image uploads, read by the handler with
 * @fastify/multipart under the image limits): text/plain (which Fastify parses by default) becomes a 415 like any
 * other type. Errors raised while reading the body get the Sepal error shape with a message naming the problem.
 */
export function installBodyHandling(fastify: FastifyInstance, limitBytes: number): void {
  fastify.removeContentTypeParser('text/plain');
  void fastify.register(multipart);
  fastify.addHook('preValidation', async (request, reply) => {
    if (!request.isMultipart() || MULTIPART_ROUTES.has(request.routeOptions.url ?? '')) return;
    return reply.status(415).type('application/json; charset=utf-8').send({
      statusCode: 415,
      error: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'body: unsupported content type; send JSON with Content-Type: application/json',
    });
  });
  fastify.addHook('onError', async (_request, _reply, error) => {
    const message = bodyErrorMessage(error, limitBytes);
    if (message) error.message = message;
  });
}
