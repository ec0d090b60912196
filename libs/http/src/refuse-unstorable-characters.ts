import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './domain-exception.filter';

const ENCODED_NUL = /%00/i;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one: half of a UTF-16 pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a string PostgreSQL's text and json cannot hold, or undefined if it can hold it. */
function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (U+0000 or %00)';
  if (LONE_SURROGATE.test(text))
    return 'a lone UTF-16 surrogate (an escape such as \\ud800 without its pair)';
  return undefined;
}

/**
 * Where `value` (a parsed JSON body; any other kind of body is not looked into) holds a character PostgreSQL cannot
 * store (a NUL, or half of a surrogate pair), in a string or a key, e.g. `body.features.a`, with what it is;
 * undefined if nowhere. Iterative: a body may be nested deeper than the call stack.
 */
export function findUnstorableCharacter(
  value: unknown,
  root = 'body',
): { where: string; what: string } | undefined {
  const pending: [unknown, string][] = [[value, root]];
  const seen = new WeakSet<object>();
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'object' && current !== null) {
      if (seen.has(current)) continue;
      seen.add(current);
    }
    if (typeof current === 'string') {
      const what = unstorable(current);
      if (what) return { where: path, what };
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, `${path}.${index}`]));
    } else if (isPlainObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        const what = unstorable(key);
        if (what) return { where: `${path} (a key)`, what };
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
 * Refuses a request whose URL or JSON body holds a NUL character or a lone surrogate with a 400 naming where it is.
 * No field of Sepal means anything with one, and PostgreSQL's text and json cannot store either: it would otherwise
 * fail deep in a query, as a 500 ("invalid input syntax for type json").
 */
export function refuseUnstorableCharacters(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    const nul = 'a NUL character (U+0000 or %00)';
    const found =
      (ENCODED_NUL.test(path) ? { where: 'the path', what: nul } : undefined) ??
      // The query parser's object has a prototype of its own: copied into a plain one.
      findUnstorableCharacter({ ...(request.query as object) }, 'query') ??
      (ENCODED_NUL.test(request.url) ? { where: 'the query', what: nul } : undefined) ??
      findUnstorableCharacter(request.body);
    if (!found) return;
    const body: ErrorBody = {
      statusCode: 400,
      error: 'BAD_REQUEST',
      message: `${found.where} contains ${found.what}, which no field accepts`,
      hint: 'Remove the character (or send the whole surrogate pair) and send the request again.',
    };
    await reply.status(400).type('application/json; charset=utf-8').send(body);
    return reply;
  });
}
