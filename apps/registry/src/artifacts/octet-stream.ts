import type { FastifyInstance } from 'fastify';

/** Lets POST /artifacts take a raw body (application/octet-stream) as a Buffer, up to `limitBytes`. */
export function registerOctetStreamParser(fastify: FastifyInstance, limitBytes: number): void {
  if (fastify.hasContentTypeParser('application/octet-stream'))
    fastify.removeContentTypeParser('application/octet-stream');
  fastify.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: limitBytes },
    (_request, body, done) => done(null, body),
  );
}
