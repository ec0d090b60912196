import type { FastifyInstance } from 'fastify';
import type { ModelRequests } from '../metrics/inference-metrics.service';

/** The request metrics of a prediction of `model` (undefined: the default model); null when it is not served. */
export type RequestsOf = (model: string | undefined) => ModelRequests | null;

/** The prediction routes and the route parameter naming the model (none: the default model). */
const PREDICTION_ROUTES = new Map<string, 'model' | 'name' | null>([
  ['/predict', null],
  ['/predict/:model', 'model'],
  ['/v2/models/:name/infer', 'name'],
  ['/v2/models/:name/versions/:version/infer', 'name'],
]);

/**
 * Counts every prediction request Fastify answers (successes and errors, including those the lean path replays
 * through Fastify) in sepal_model_requests_total and sepal_model_request_duration_seconds, from Fastify's clock as
 * http_request_duration_seconds does. The lean path counts its own successes the same way (FastPredictPath). A
 * request naming a model the gateway does not serve (404) is not counted per model: its name never becomes a label.
 * Until `attach` (the app is initialised) nothing is counted.
 */
export class ModelTrafficHook {
  private requestsOf: RequestsOf | null = null;

  install(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      const requestsOf = this.requestsOf;
      if (requestsOf !== null) {
        const param = PREDICTION_ROUTES.get(request.routeOptions.url ?? '');
        if (param !== undefined) {
          const model = param === null ? undefined : (request.params as Record<string, string>)[param];
          requestsOf(model)?.record(reply.statusCode, reply.elapsedTime / 1000);
        }
      }
      done();
    });
  }

  attach(requestsOf: RequestsOf): void {
    this.requestsOf = requestsOf;
  }
}
