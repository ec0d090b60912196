import { Readable } from 'node:stream';
import { ZodType } from 'zod';
import { ServiceCallError } from './service-call-error';
import { RetryOptions, withRetry } from './with-retry';

export interface ServiceClientOptions {
  /** Name used in errors, e.g. `registry`. */
  service: string;
  baseUrl: string;
  /** Sent as `X-API-Key` when set. */
  apiKey?: string;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Default hint for an unreachable service (e.g. which variable points at it). */
  unreachableHint?: string;
}

export interface CallOptions<T> {
  method?: string;
  /** JSON body. */
  body?: unknown;
  /** Raw bytes, sent as application/octet-stream. */
  raw?: Uint8Array;
  /** A streamed body (e.g. a large file), sent as it is read, with its content type. */
  upload?: { body: AsyncIterable<Uint8Array>; contentType: string };
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Validates the JSON answer (a contract from libs/contracts); a mismatch is an error naming the URL. */
  schema?: ZodType<T>;
  /** Retry transient failures (unreachable, 5xx, 429) for a bounded time; default: one attempt. */
  retry?: RetryOptions;
}

/**
 * One typed client for every service-to-service and CLI call: timeouts, optional retries, errors naming URL and
 * status. It calls its configured service only: every path is relative to `baseUrl` (see `serviceUrl`), so the key it
 * carries is never sent anywhere else, whatever a message or an answer names.
 */
export class ServiceClient {
  private readonly base: URL;

  constructor(private readonly options: ServiceClientOptions) {
    this.base = new URL(options.baseUrl);
  }

  /** The URL of `path` on this client's service; an absolute URL or a path leaving the service throws. */
  url(path: string): string {
    return serviceUrl(this.base, path, this.options.service);
  }

  get<T>(path: string, options: Omit<CallOptions<T>, 'method' | 'body' | 'raw'> = {}): Promise<T> {
    return this.json<T>(path, { ...options, method: 'GET' });
  }

  post<T>(path: string, body?: unknown, options: Omit<CallOptions<T>, 'method' | 'body'> = {}): Promise<T> {
    return this.json<T>(path, {
      ...options,
      method: 'POST',
      body: options.raw || options.upload ? undefined : (body ?? {}),
    });
  }

  put<T>(path: string, body?: unknown, options: Omit<CallOptions<T>, 'method' | 'body'> = {}): Promise<T> {
    return this.json<T>(path, { ...options, method: 'PUT', body: body ?? {} });
  }

  delete<T>(path: string, options: Omit<CallOptions<T>, 'method' | 'body' | 'raw'> = {}): Promise<T> {
    return this.json<T>(path, { ...options, method: 'DELETE' });
  }

  /** The answer parsed as JSON (undefined for an empty body), validated by `schema` when given. */
  async json<T>(path: string, options: CallOptions<T> = {}): Promise<T> {
    const { response, method, url } = await this.send(path, options);
    const text = await readBody(response, this.options.service, method, url, (r) => r.text());
    let value: unknown;
    try {
      value = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ServiceCallError(
        this.options.service,
        method,
        url,
        response.status,
        `answer is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!options.schema) return value as T;
    const parsed = options.schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'the body';
      throw new ServiceCallError(
        this.options.service,
        method,
        url,
        response.status,
        `answer does not match the contract at ${where}: ${issue?.message ?? 'invalid'}`,
        'The two services run different versions of libs/contracts: deploy them together.',
      );
    }
    return parsed.data;
  }

  /** The answer as text. */
  async text(path: string, options: CallOptions<string> = {}): Promise<string> {
    const { response, method, url } = await this.send(path, options);
    return readBody(response, this.options.service, method, url, (r) => r.text());
  }

  /** The answer as bytes (artifacts). */
  async bytes(path: string, options: CallOptions<Uint8Array> = {}): Promise<Uint8Array> {
    const { response, method, url } = await this.send(path, options);
    return readBody(
      response,
      this.options.service,
      method,
      url,
      async (r) => new Uint8Array(await r.arrayBuffer()),
    );
  }

  private send<T>(
    path: string,
    options: CallOptions<T>,
  ): Promise<{ response: Response; method: string; url: string }> {
    const attempt = () => this.sendOnce(path, options, true);
    return options.retry ? withRetry(attempt, options.retry) : attempt();
  }

  private async sendOnce<T>(
    path: string,
    options: CallOptions<T>,
    mayRetryStaleSocket: boolean,
  ): Promise<{ response: Response; method: string; url: string }> {
    const { method = 'GET', body, raw, upload, headers = {}, timeoutMs } = options;
    const url = this.url(path);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(raw !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
          ...(upload !== undefined ? { 'content-type': upload.contentType } : {}),
          ...(this.options.apiKey ? { 'x-api-key': this.options.apiKey } : {}),
          // A keyless app takes a state change only with this header, which a web page on another site cannot send.
          'x-sepal-client': '1',
          ...this.options.headers,
          ...headers,
        },
        body:
          upload !== undefined
            ? (Readable.toWeb(Readable.from(upload.body)) as ReadableStream<Uint8Array>)
            : raw !== undefined
              ? Buffer.from(raw)
              : body !== undefined
                ? JSON.stringify(body)
                : undefined,
        // A streamed body needs half-duplex (Node's fetch); harmless otherwise.
        ...(upload !== undefined ? { duplex: 'half' } : {}),
        signal: AbortSignal.timeout(timeoutMs ?? this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      // A kept-alive socket the server closed as this request left: an idempotent call goes again, once, on a new one.
      if (mayRetryStaleSocket && IDEMPOTENT.has(method) && isStaleSocket(error)) {
        return this.sendOnce(path, options, false);
      }
      throw new ServiceCallError(
        this.options.service,
        method,
        url,
        null,
        describeFetchError(error),
        this.options.unreachableHint,
      );
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      let detail = text.slice(0, 500) || response.statusText;
      let hint: string | undefined;
      try {
        const parsed = JSON.parse(text) as { message?: unknown; hint?: unknown };
        if (typeof parsed.message === 'string') detail = parsed.message;
        if (typeof parsed.hint === 'string') hint = parsed.hint;
      } catch {
        // not JSON: keep the text
      }
      throw new ServiceCallError(this.options.service, method, url, response.status, detail, hint);
    }
    return { response, method, url };
  }
}

/** Methods sent again once when their kept-alive socket turns out closed (nothing was done by the first try). */
const IDEMPOTENT = new Set(['GET', 'HEAD']);

/** Codes of a socket closed under a request: a server's idle keep-alive close racing the request on a reused socket. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** Whether fetch failed because its (kept-alive) socket was closed by the other side, not a timeout or a refusal. */
export function isStaleSocket(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (!cause) return false;
  if (typeof cause.code === 'string' && STALE_SOCKET_CODES.has(cause.code)) return true;
  return typeof cause.message === 'string' && /other side closed/i.test(cause.message);
}

/**
 * `path` resolved against a service's base URL, refused unless it stays on that service: no scheme (`http:`,
 * `file:`...), no protocol-relative `//host`, no backslash or control character, and the result must keep the
 * base's origin and path prefix (dot segments, encoded or not, cannot climb out of it).
 */
export function serviceUrl(base: URL, path: string, service: string): string {
  const refuse = (why: string): never => {
    throw new Error(
      `${service}: refusing to call ${JSON.stringify(String(path).slice(0, 200))}: ${why}; a service client calls only ${base.origin} with paths relative to it`,
    );
  };
  if (typeof path !== 'string') refuse('not a path');
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) refuse('an absolute URL');
  if ([...path].some((c) => c === '\\' || c < ' ' || c === '\u007f'))
    refuse('a backslash or control character');
  const relative = path.startsWith('/') ? path : `/${path}`;
  if (relative.startsWith('//')) refuse('a protocol-relative URL (another host)');
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${prefix}${relative}`);
  if (url.origin !== base.origin) refuse(`another origin (${url.origin})`);
  if (prefix && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`))
    refuse(`a path outside ${prefix}`);
  if (url.username || url.password) refuse('credentials in the URL');
  return url.href;
}

async function readBody<R>(
  response: Response,
  service: string,
  method: string,
  url: string,
  read: (response: Response) => Promise<R>,
): Promise<R> {
  try {
    return await read(response);
  } catch (error) {
    throw new ServiceCallError(
      service,
      method,
      url,
      null,
      `reading the answer failed: ${describeFetchError(error)}`,
    );
  }
}

function describeFetchError(error: unknown): string {
  // fetch's errors may come from another realm (DOMException), so look at their shape, not their class.
  const shaped = error as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | null;
  if (shaped?.name === 'TimeoutError') return 'timed out';
  if (typeof shaped?.cause?.message === 'string') return shaped.cause.message;
  return typeof shaped?.message === 'string' ? shaped.message : String(error);
}
