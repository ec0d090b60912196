import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './domain-exception.filter';

const ENCODED_NUL = /%00/i;

/**
 * Where `value` (a parsed JSON body; any other kind of body is not looked into) holds a NUL character (U+0000), in a string or a key, e.g. `body.features.a`;
 * undefined if nowhere. Iterative: a body may be nested deeper than the call stack.
 */
export function findNulCharacter(value: unknown, root = 'body'): string | undefined {
  const pending: [unknown, string][] = [[value, root]];
  const seen = new WeakSet<object>();
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'object' && current !== null) {
      if (seen.has(current)) continue;
      seen.add(current);
    }
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return path;
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, `${path}.${index}`]));
    } else if (isPlainObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        if (key.includes('\u0000')) return `${path} (a key)`;
        pending.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * Only what JSON.parse makes is walked: a body a route takes as a stream (a CSV upload) or a Buffer is an object graph
 * of sockets and servers, with cycles, not data.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Refuses a request whose URL or JSON body holds a NUL character with a 400 naming where it is. No field of Sepal
 * means anything with one, and PostgreSQL's text cannot store it: it would otherwise fail deep in a query, as a 500.
 */
export function refuseNulCharacters(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    const where =
      (ENCODED_NUL.test(path) ? 'the path' : undefined) ??
      // The query parser's object has a prototype of its own: copied into a plain one.
      findNulCharacter({ ...(request.query as object) }, 'query') ??
      (ENCODED_NUL.test(request.url) ? 'the query' : undefined) ??
      findNulCharacter(request.body);
    if (!where) return;
    const body: ErrorBody = {
      statusCode: 400,
      error: 'BAD_REQUEST',
      message: `${where} contains a NUL character (U+0000 or %00), which no field accepts`,
      hint: 'Remove the NUL character and send the request again.',
    };
    await reply.status(400).type('application/json; charset=utf-8').send(body);
    return reply;
  });
}
