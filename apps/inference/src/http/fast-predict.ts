import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import { AppMetricsRegistry, counter, HttpTally, type HttpSeries } from '@sepal/observability';
import { hasScope, PREDICTION_ID_HEADER, type PredictResponse } from '@sepal/contracts';
import { presentedSecret, type KeyVerifier } from '@sepal/http';
import type { RequestsOf } from './model-traffic';

/** What the lean path calls: PredictService.predict. */
export type Predict = (body: unknown, modelName?: string) => Promise<PredictResponse>;
/** The prediction routes' per-key rate limit (see PredictRateLimits). */
export interface RateLimit {
  /** 0 to go ahead (a token taken), else the seconds to wait. */
  take(keyName: string): number;
  /** Gives a token back: the request is replayed through Fastify, whose guard takes one again. */
  give(keyName: string): void;
}

export interface FastPathWiring {
  predict: Predict;
  fastify: FastifyInstance;
  /** The per-key rate limit the prediction guard applies (keys on only). */
  rateLimit: RateLimit;
  requestsOf?: RequestsOf;
  /** Keys on: the verifier the scope guard uses, whose cached answers the lean path reads. */
  keys?: Pick<KeyVerifier, 'known'>;
  /** The gateway's own metrics (its `/metrics`): the HTTP tally it counts in, and sepal_predict_fast_path_total. */
  metrics: AppMetricsRegistry;
}

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;
interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
}

const PREDICT = '/predict';
const PREDICT_PREFIX = '/predict/';
const JSON_TYPE = 'application/json; charset=utf-8';
/** A JSON escape of a UTF-16 surrogate (\\ud800–\\udfff), which the lean path leaves to Fastify's check. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** `application/json`, optionally with parameters (`; charset=utf-8`), as Fastify's JSON parser takes it. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length < 16) return false;
  const head = contentType.slice(0, 16).toLowerCase();
  if (head !== 'application/json') return false;
  const next = contentType.charCodeAt(16);
  return Number.isNaN(next) || next === 59 /* ; */ || next === 32; /* space */
}

/**
 * The lean body path of the hot prediction routes (`POST /predict`, `POST /predict/{model}`).
 *
 * Fastify's request pipeline (routing, hooks, the content-type parser's stream handling, Nest's interceptors and
 * reply serialisation) costs about as much as the prediction itself at high concurrency (see the README's benchmark
 * section). This handler sits in front of Fastify (its `serverFactory`): for a prediction request it reads the body
 * with a plain `data`/`end` loop under MAX_BODY_BYTES, parses it with JSON.parse, calls the same PredictService as
 * the controller and writes the answer in one `end()`, counting it in the same HTTP metrics.
 *
 * Only successful answers are produced here. Everything else goes to Fastify unchanged, so keys, limits, validation
 * and error answers are identical by construction: a request that is not plainly a JSON prediction (other content
 * type, a Content-Length over the limit, a query string) or, with keys on, one whose key is not in the verifier's cache
 * as a valid key with the `predict` scope (no key, an unknown, revoked or not yet checked key, a key without the scope)
 * or is over its PREDICT_RATE_PER_KEY, is handed to Fastify before its body is read: the scope guard checks the key
 * (and caches the answer, so the key's next request stays here) and answers 401/403/429 exactly as on any route. With
 * a cached valid key the check costs a hash and a map lookup. A request that fails once read (malformed JSON, a body
 * that grew over the limit, a key Fastify's secure parser refuses, a NUL character, a validation error, an unknown
 * model, no model loaded) is replayed through Fastify (inject) with the bytes received, which answers it exactly as it
 * would have.
 */
export class FastPredictPath {
  private predict: Predict | null = null;
  private rateLimit: RateLimit = { take: () => 0, give: () => undefined };
  private requestsOf: RequestsOf = () => null;
  private keys: Pick<KeyVerifier, 'known'> | null = null;
  private fastify: FastifyInstance | null = null;
  /** The gateway's HTTP tally once attached (nothing is counted here before). */
  private http = new HttpTally();
  private readonly series = new Map<string, HttpSeries>();
  /** Predictions answered here, added to sepal_predict_fast_path_total when Prometheus scrapes. */
  private answeredTotal = 0;
  private answeredReported = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly enabled: boolean,
    /** Whether the request may be served here at all (keyless: this machine only); false: Fastify answers it. */
    private readonly admits: (request: IncomingMessage) => boolean = () => true,
  ) {}

  /**
   * Fastify's serverFactory: a node:http server that gives prediction requests to the lean path, with the timeouts
   * Fastify would set on a server of its own (requestTimeout, keepAliveTimeout, connectionTimeout).
   */
  readonly serverFactory = (handler: RequestHandler, options?: ServerTimeouts): Server => {
    const server = createServer((request, response) => {
      if (this.predict !== null && request.method === 'POST' && this.take(request, response)) return;
      handler(request, response);
    });
    if (options?.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options?.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    if (options?.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    return server;
  };

  /** Turns the lean path on once the app is initialised (until then every request goes to Fastify). */
  attach(wiring: FastPathWiring): void {
    if (!this.enabled) return;
    const answered: Counter = counter({
      name: 'sepal_predict_fast_path_total',
      help: 'Predictions answered by the lean body path (the others, and every error, are answered by Fastify).',
      collect: () => {
        answered.inc(this.answeredTotal - this.answeredReported);
        this.answeredReported = this.answeredTotal;
      },
    });
    wiring.metrics.add(answered);
    this.predict = wiring.predict;
    if (wiring.requestsOf) this.requestsOf = wiring.requestsOf;
    this.rateLimit = wiring.rateLimit;
    this.keys = wiring.keys ?? null;
    this.fastify = wiring.fastify;
    this.http = wiring.metrics.http;
  }

  /** Starts handling `request` if it is a prediction; false leaves it to Fastify untouched. */
  private take(request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url ?? '';
    let model: string | undefined;
    if (url === PREDICT) model = undefined;
    else if (url.startsWith(PREDICT_PREFIX) && url.length > PREDICT_PREFIX.length) {
      const raw = url.slice(PREDICT_PREFIX.length);
      if (raw.includes('/') || raw.includes('?') || raw.includes('%')) return false;
      model = raw;
    } else return false;
    if (!isJson(request.headers['content-type']) || !this.admits(request)) return false;
    const declared = request.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= this.limitBytes)) return false;
    let keyName: string | undefined;
    if (this.keys !== null) {
      const secret = presentedSecret(request.headers);
      const identity = secret === undefined ? undefined : this.keys.known?.(secret);
      if (!identity || !hasScope(identity.scopes, 'predict')) return false;
      if (this.rateLimit.take(identity.name) !== 0) return false;
      keyName = identity.name;
    }
    this.read(request, response, model, keyName);
    return true;
  }

  private read(
    request: IncomingMessage,
    response: ServerResponse,
    model: string | undefined,
    keyName: string | undefined,
  ): void {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let length = 0;
    let over = false;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > this.limitBytes) {
        over = true;
        request.removeListener('data', onData);
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('error', () => response.destroy());
    request.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
      if (over) return this.replay(request, response, body, keyName);
      const text = body.toString('utf8');
      let parsed: unknown;
      // Fastify's secure-json-parse refuses these keys, and a preValidation hook refuses NUL characters and lone
      // surrogates (any surrogate escape is sent there, paired or not): such a body is answered by Fastify.
      if (
        text.length === 0 ||
        text.includes('__proto__') ||
        text.includes('constructor') ||
        text.includes('\\u0000') ||
        text.includes('\u0000') ||
        SURROGATE_ESCAPE.test(text)
      ) {
        return this.replay(request, response, body, keyName);
      }
      try {
        parsed = JSON.parse(text);
      } catch {
        return this.replay(request, response, body, keyName);
      }
      this.predict!(parsed, model).then(
        (answer) => {
          const json = JSON.stringify(answer);
          response.writeHead(200, {
            'content-type': JSON_TYPE,
            'content-length': Buffer.byteLength(json),
            [PREDICTION_ID_HEADER]: answer.predictions[0].predictionId,
          });
          response.end(json);
          this.count(model === undefined ? PREDICT : '/predict/:model', started, model);
        },
        () => this.replay(request, response, body, keyName),
      );
    });
  }

  /** Answers a request through Fastify (routing, validation, error shapes, metrics) with the body received. */
  private replay(
    request: IncomingMessage,
    response: ServerResponse,
    body: Buffer,
    keyName: string | undefined,
  ): void {
    // The guard takes the key's token again on the way through Fastify: one request, one token.
    if (keyName !== undefined) this.rateLimit.give(keyName);
    const headers = { ...request.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    this.fastify!.inject({
      method: 'POST',
      url: request.url ?? PREDICT,
      headers,
      payload: body,
      remoteAddress: request.socket.remoteAddress,
    }).then(
      (answer) => {
        const out: Record<string, string | string[] | number> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && name !== 'connection' && name !== 'transfer-encoding' && name !== 'date')
            out[name] = value as string | string[] | number;
        }
        response.writeHead(answer.statusCode, out);
        response.end(answer.rawPayload);
      },
      () => response.destroy(),
    );
  }

  /**
   * http_requests_total and http_request_duration_seconds, as Fastify's onResponse hook counts them (one record in
   * the process's HTTP tally), and the model's sepal_model_requests_total and sepal_model_request_duration_seconds, as
   * ModelTrafficHook counts them (the model exists: it just answered).
   */
  private count(route: string, started: number, model: string | undefined): void {
    const seconds = (performance.now() - started) / 1000;
    let series = this.series.get(route);
    if (!series) {
      series = this.http.of('POST', route, 200);
      this.series.set(route, series);
    }
    series.record(seconds);
    this.answeredTotal++;
    this.requestsOf(model)?.record(200, seconds);
  }
}
