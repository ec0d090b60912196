import { Inject, Injectable } from '@nestjs/common';
import { Readable, Transform } from 'node:stream';
import { ConsoleConfig, ConsoleConfigValues, SERVICES, ServiceName, serviceUrls } from '../console.config';

/** Request headers the proxy forwards: what the services read (the API key included), nothing hop-by-hop. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'content-type',
  'x-api-key',
  'authorization',
  'x-request-id',
  'x-sepal-client',
];
/** Response headers the browser needs (downloads, content type, the dataset version of an export). */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-disposition',
  'cache-control',
  'x-dataset-version',
  'www-authenticate',
  'retry-after',
];

export interface ProxyRequest {
  service: string;
  /** The path after /api/<service>, with its query string. */
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The request's body as it arrives (never buffered here). */
  body?: Readable;
  /**
   * The browser's address, sent on as X-Forwarded-For: a service that lists the console in SEPAL_TRUSTED_PROXIES
   * limits failed key checks by it rather than by the console's one address.
   */
  clientAddress?: string;
}

export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  body: Readable | string;
}

const problem = (status: number, error: string, message: string): ProxyAnswer => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ statusCode: status, error, message }),
});

/**
 * The bytes of `body` as they arrive, failing once more than `limit` went through (the request to the service is then
 * abandoned and the caller answered 413).
 */
function countUpTo(body: Readable, limit: number): { stream: Readable; over: () => boolean } {
  let seen = 0;
  let over = false;
  const stream = body.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > limit) {
          over = true;
          return done(new Error('CONSOLE_MAX_BODY_BYTES'));
        }
        done(null, chunk);
      },
    }),
  );
  return { stream, over: () => over };
}

/** Forwards /api/<service>/* to the service, streaming bodies, under the configured body size and time limits. */
@Injectable()
export class ProxyService {
  private readonly urls: Record<ServiceName, string>;

  constructor(@Inject(ConsoleConfig) private readonly config: ConsoleConfigValues) {
    this.urls = serviceUrls(config);
  }

  async forward(request: ProxyRequest): Promise<ProxyAnswer> {
    if (!(SERVICES as readonly string[]).includes(request.service)) {
      return problem(
        404,
        'Not Found',
        `no service '${request.service}' behind the console: use /api/${SERVICES.join('|')}/...`,
      );
    }
    const base = this.urls[request.service as ServiceName];
    const headers = new Headers();
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value) && value[0]) headers.set(name, value[0]);
    }
    if (request.clientAddress) headers.set('x-forwarded-for', request.clientAddress);
    const limit = this.config.CONSOLE_MAX_BODY_BYTES;
    const tooLarge = () =>
      problem(
        413,
        'Payload Too Large',
        `body: larger than the limit of ${limit} bytes (CONSOLE_MAX_BODY_BYTES)`,
      );
    const declared = request.headers['content-length'];
    if (Number(Array.isArray(declared) ? declared[0] : (declared ?? 0)) > limit) return tooLarge();
    const hasBody = !['GET', 'HEAD'].includes(request.method) && request.body !== undefined;
    const counted = hasBody ? countUpTo(request.body!, limit) : undefined;
    let response: Response;
    try {
      response = await fetch(`${base}${request.path}`, {
        method: request.method,
        headers,
        body: counted ? (Readable.toWeb(counted.stream) as ReadableStream<Uint8Array>) : undefined,
        duplex: 'half',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.CONSOLE_PROXY_TIMEOUT_MS),
      } as RequestInit);
    } catch (error) {
      if (counted?.over()) return tooLarge();
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        return problem(
          504,
          'Gateway Timeout',
          `the ${request.service} service at ${base} did not answer within ${this.config.CONSOLE_PROXY_TIMEOUT_MS} ms ` +
            '(CONSOLE_PROXY_TIMEOUT_MS); try again, or raise the limit for slow calls',
        );
      }
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      return problem(
        502,
        'Bad Gateway',
        `the ${request.service} service at ${base} is unreachable (${cause}): is it running? ` +
          `(the console reaches it through ${request.service.toUpperCase()}_URL)`,
      );
    }
    const answerHeaders: Record<string, string> = {};
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) answerHeaders[name] = value;
    }
    const body = response.body
      ? Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
      : '';
    return { status: response.status, headers: answerHeaders, body };
  }
}
