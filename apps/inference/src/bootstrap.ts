import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppMetricsRegistry } from '@sepal/observability';
import { keyVerifierFor, localOnlyRefusal, parseAllowedHosts, startSepalApp } from '@sepal/http';
import { installBodyHandling } from './http/body-errors';
import { FastPredictPath } from './http/fast-predict';
import { ModelTrafficHook } from './http/model-traffic';
import { ModelManager } from './model/model-manager.service';
import { PredictRateLimits } from './predict/predict-rate-limit.guard';
import { PredictService } from './predict/predict.service';
import { InferenceConfig, InferenceConfigValues } from './inference.config';
import { InferenceModule } from './inference.module';

/** Starts the inference gateway (HTTP API + model.promoted consumer); used by main.ts and by `sepal up`. */
export async function startInferenceApp(
  config: InferenceConfigValues = InferenceConfig.load(),
  options: { listen?: boolean } = {},
): Promise<NestFastifyApplication> {
  const traffic = new ModelTrafficHook();
  const allowedHosts = parseAllowedHosts(config.SEPAL_ALLOWED_HOSTS);
  // Keyless, a prediction must come from this machine like any request: one that breaks the rules (a foreign Host,
  // another site) is left to Fastify, whose first hook refuses it. With keys on, the key decides (checked below).
  const fast = new FastPredictPath(
    config.MAX_BODY_BYTES,
    config.PREDICT_FAST_PATH,
    config.SEPAL_API_KEY
      ? () => true
      : (request) =>
          localOnlyRefusal({ method: 'POST', headers: request.headers, prediction: true }, allowedHosts) ===
          undefined,
  );
  // One cached verifier for the scope guard and the lean path: a key the guard has checked costs the lean path a
  // hash and a map lookup.
  const keys = keyVerifierFor(config, config.REGISTRY_URL);
  const app = await startSepalApp(InferenceModule.forRoot(config), {
    service: 'inference',
    title: 'Sepal inference gateway',
    description:
      'Predictions from the champion model (REST and Open Inference Protocol v2), hot reload on promotion, feedback intake and metrics.',
    config,
    port: config.INFERENCE_PORT,
    host: config.INFERENCE_HOST ?? config.HOST,
    registryUrl: config.REGISTRY_URL,
    keyVerifier: () => keys,
    bodyLimitBytes: config.MAX_BODY_BYTES,
    configureFastify: (fastify) => {
      installBodyHandling(fastify, config.MAX_BODY_BYTES);
      traffic.install(fastify);
    },
    serverFactory: fast.serverFactory,
    listen: options.listen,
  });
  const predictions = app.get(PredictService);
  const limits = app.get(PredictRateLimits);
  const models = app.get(ModelManager);
  const requestsOf = (model: string | undefined) => models.requestsOf(model);
  traffic.attach(requestsOf);
  fast.attach({
    predict: (body, model) => predictions.predict(body, model),
    fastify: app.getHttpAdapter().getInstance(),
    rateLimit: limits,
    requestsOf,
    keys: config.SEPAL_API_KEY ? keys : undefined,
    metrics: app.get(AppMetricsRegistry),
  });
  return app;
}
