import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { ConsoleConfig, ConsoleConfigValues, SERVICES, ServiceName, serviceUrls } from '../console.config';

/** Request headers the proxy forwards: what the services read (the API key included), nothing hop-by-hop. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type', 'x-api-key', 'authorization', 'x-request-id'];
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
  body?: Buffer;
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

/** Forwards /api/<service>/* to the service, under the configured body size and time limits. */
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
    const hasBody = !['GET', 'HEAD'].includes(request.method) && request.body && request.body.length > 0;
    let response: Response;
    try {
      response = await fetch(`${base}${request.path}`, {
        method: request.method,
        headers,
        body: hasBody ? new Uint8Array(request.body!) : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.CONSOLE_PROXY_TIMEOUT_MS),
      });
    } catch (error) {
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
