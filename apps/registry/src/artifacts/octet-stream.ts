import type { FastifyInstance } from 'fastify';

/**
 * POST /artifacts takes a raw body (application/octet-stream) as the request's stream: the upload is hashed and written
 * to disk as it arrives, under REGISTRY_MAX_ARTIFACT_BYTES (ArtifactStore.receive), never buffered. No route buffers
 * an octet-stream body, so the large limit applies to artifact uploads only; every other route keeps
 * HTTP_BODY_LIMIT_BYTES.
 */
export function registerOctetStreamParser(fastify: FastifyInstance): void {
  if (fastify.hasContentTypeParser('application/octet-stream'))
    fastify.removeContentTypeParser('application/octet-stream');
  fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  // A batch job's CSV (POST /batch-jobs, PUT /batch-jobs/:id/output) streams to the store the same way.
  fastify.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
}
