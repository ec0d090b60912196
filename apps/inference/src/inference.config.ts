import { hostname } from 'node:os';
import { z } from 'zod';
import { baseConfigSchema, booleanVar, loadConfig, portVar } from '@sepal/config';

export const inferenceConfigSchema = baseConfigSchema.extend({
  INFERENCE_PORT: portVar(3000),
  /** Overrides HOST for this app. */
  INFERENCE_HOST: z.string().min(1).optional(),
  /**
   * This replica's name in model.served (the registry completes a job's `served` step with it); unset:
   * `<hostname>:<INFERENCE_PORT>`. Give each replica its own.
   */
  INFERENCE_REPLICA_ID: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  /** The default model: the one `POST /predict` (without a model name) and `POST /feedback` use. */
  MODEL_NAME: z.string().trim().min(1).max(200).default('IrisModel'),
  /**
   * The registered models whose champions this gateway serves: `*` (every registered model, and any model promoted
   * for the first time later) or a comma-separated list of names.
   */
  SERVE_MODELS: z
    .string()
    .trim()
    .default('*')
    .transform((value, ctx) => {
      if (value === '*' || value === '') return '*' as const;
      const names = value.split(',').map((name) => name.trim());
      if (names.some((name) => name.length === 0 || name.length > 200)) {
        ctx.addIssue({
          code: 'custom',
          message: 'a comma-separated list of model names (1-200 characters each), or *',
        });
        return z.NEVER;
      }
      return names;
    }),
  /**
   * At most this many model versions are loaded at once (champions, canary and shadow versions, and versions loaded
   * on demand by /v2/models/{name}/versions/{version}/infer); beyond it the least recently used version loaded on
   * demand is unloaded. Champions and versions in a traffic split are never unloaded.
   */
  MAX_LOADED_MODELS: z.coerce.number().int().positive().max(10_000).default(50),
  /** At most this many shadow runs wait at once; a row arriving beyond it is not shadowed (counted as skipped). */
  SHADOW_MAX_PENDING: z.coerce.number().int().min(0).max(1_000_000).default(256),
  /**
   * Share of prediction requests logged (0 to 1; a batch is logged whole or not): shipped to the data service's
   * prediction log off the request path (docs/prediction-log.md). 0 turns the log off. The default keeps the cost
   * within a few per cent of throughput; logging every request (1) costs about a third (`npm run
   * bench:prediction-log`).
   */
  PREDICTION_LOG_SAMPLE: z.coerce.number().min(0).max(1).default(0.1),
  /** Rows the log holds in memory waiting for the bus; beyond it sampled rows are dropped and counted. */
  PREDICTION_LOG_QUEUE: z.coerce.number().int().positive().max(10_000_000).default(50_000),
  /** Rows per predictions.logged event, at most 1,000 (a larger request is split over events). */
  PREDICTION_LOG_BATCH: z.coerce.number().int().positive().max(1000).default(500),
  /** How often queued rows are shipped (ms). */
  PREDICTION_LOG_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  REGISTRY_URL: z
    .string()
    .url()
    .refine((value) => /^https?:/.test(value), { message: 'must start with http:// or https://' })
    .default('http://127.0.0.1:3002'),
  /**
   * Dataset that POST /feedback samples of the default model are forwarded to (feedback.received); another model's
   * feedback goes to the dataset its served version was trained on (from the registry's lineage).
   */
  FEEDBACK_DATASET: z.string().trim().min(1).max(200).default('iris'),
  /**
   * Feedback samples each key may forward per minute through this gateway (POST /feedback); 429 beyond. With keys on
   * only (SEPAL_API_KEY): keyless, every caller is this machine and no sample is refused.
   */
  FEEDBACK_RATE_PER_KEY: z.coerce.number().positive().max(1_000_000).default(120),
  /** How many feedback samples a key may forward at once before the per-minute rate applies. */
  FEEDBACK_BURST_PER_KEY: z.coerce.number().int().positive().max(1_000_000).default(120),
  /**
   * Predictions per second each key may make (POST /predict, /predict/{model} and the OIP infer routes), counted per
   * key name; 429 with Retry-After beyond. 0 (the default): no limit, so a caller at full speed is never refused.
   * Applies only with keys on (SEPAL_API_KEY): without keys there is no caller to tell apart (loopback only), and no
   * limit.
   */
  PREDICT_RATE_PER_KEY: z.coerce.number().min(0).max(1_000_000).default(0),
  /** How many predictions a key may make at once before the per-second rate applies; unset: twice the rate. */
  PREDICT_BURST_PER_KEY: z.coerce.number().int().positive().max(10_000_000).optional(),
  /**
   * A named row's fields the model does not know: `refuse` (400 naming them; the default: a misspelt feature is never
   * silently dropped) or `ignore`.
   */
  PREDICT_UNKNOWN_FEATURES: z.enum(['refuse', 'ignore']).default('refuse'),
  MAX_BATCH_ROWS: z.coerce.number().int().positive().max(1_000_000).default(1000),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /**
   * Image models: the largest PNG or JPEG accepted (bytes, per image, checked before decoding); 413 beyond. A
   * request's images together stay under MAX_BODY_BYTES too (base64 in JSON or multipart files).
   */
  IMAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .default(256 * 1024),
  /** Image models: images per request (a JSON `images` array, multipart files or an OIP tensor's N); 413 beyond. */
  IMAGE_MAX_PER_REQUEST: z.coerce.number().int().positive().max(100_000).default(256),
  /**
   * Image models: the most pixels (width x height) an image's header may declare; 413 beyond, before any decoding (an
   * image of another size than the model's is refused with 422 anyway, also before decoding).
   */
  IMAGE_MAX_PIXELS: z.coerce
    .number()
    .int()
    .positive()
    .max(1_000_000_000)
    .default(4096 * 4096),
  /**
   * Adaptive batching: requests arriving while an ONNX run is in flight share the next run (a request reaching an
   * idle model runs at once). Off: one run per request.
   */
  PREDICT_COALESCE: booleanVar(true),
  /**
   * The lean body path for POST /predict and /predict/{model}: a node:http handler in front of Fastify answers
   * successful predictions itself and replays every other request through Fastify (identical validation and errors).
   * With keys on it serves requests whose key is in the verifier's cache with the `predict` scope (and within its
   * PREDICT_RATE_PER_KEY); anything else goes to Fastify before a byte of the body is read.
   */
  PREDICT_FAST_PATH: booleanVar(true),
  /**
   * With coalescing, loaded classifiers of one architecture (same layers, feature and class counts; numeric features
   * only) are stacked into one ONNX model that scores each row with its own model's weights, so a mix of many models
   * pays one run per batch instead of one per model. Off: every model runs on its own session.
   */
  PREDICT_STACKING: booleanVar(true),
  /** Most models in one stack; more of one architecture form several stacks. */
  PREDICT_STACK_MAX_MODELS: z.coerce.number().int().min(2).max(1024).default(64),
  /**
   * Largest artifact that is stacked: a stacked run copies each row's weights (Gather), which costs more than a run
   * of its own once a model has more than some tens of thousands of weights.
   */
  PREDICT_STACK_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .default(64 * 1024),
  /** After a model of a stack is loaded or retired, the stacks are rebuilt this much later (one build for a burst). */
  PREDICT_STACK_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /** With coalescing, how long a request reaching an idle model waits for company (microseconds); 0 = not at all. */
  PREDICT_BATCH_WINDOW_US: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** Pause between attempts to load the champion while none is served yet. */
  MODEL_RETRY_INTERVAL_MS: z.coerce.number().int().positive().default(3000),
  /**
   * Every so often the gateway asks the registry for the champion and loads it if it differs from the model served:
   * a model.promoted missed while the broker connection was down is caught up this way. 0 = off.
   */
  MODEL_SYNC_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  /** Time limit of one registry call (alias lookup or artifact download). */
  REGISTRY_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Threads onnxruntime may use for one run; 1 suits small models under many concurrent requests. */
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(1),
  /**
   * Feature drift (models whose ONNX metadata has `feature_reference`): the raw features of the last DRIFT_WINDOW_ROWS
   * scored rows are compared with the training split (PSI per feature, gauge sepal_feature_drift_psi).
   */
  DRIFT_WINDOW_ROWS: z.coerce.number().int().positive().max(1_000_000).default(500),
  /** No PSI is reported (or acted on) before the window holds this many rows (capped at DRIFT_WINDOW_ROWS). */
  DRIFT_MIN_ROWS: z.coerce.number().int().positive().default(100),
  /** Period of the background PSI evaluation (it also runs when Prometheus scrapes). */
  DRIFT_EVAL_INTERVAL_MS: z.coerce.number().int().positive().default(5000),
  /** A feature whose PSI exceeds this makes the gateway publish drift.detected; 0 = never publish. */
  DRIFT_PSI_THRESHOLD: z.coerce.number().min(0).max(100).default(0.2),
  /** At most one drift.detected per model version in this period. */
  DRIFT_COOLDOWN_MS: z.coerce.number().int().min(0).default(3_600_000),
});

export type InferenceConfigValues = z.output<typeof inferenceConfigSchema> & { INFERENCE_REPLICA_ID: string };

/** `<hostname>:<port>`, within the 200 characters model.served allows. */
export function defaultReplicaId(port: number, host: string = hostname()): string {
  const suffix = `:${port}`;
  return `${host.slice(0, 200 - suffix.length)}${suffix}`;
}

/** The gateway's configuration, read and validated once at start; inject it by this class. */
export abstract class InferenceConfig {
  static load(env: NodeJS.ProcessEnv = process.env): InferenceConfigValues {
    const values = loadConfig(inferenceConfigSchema, env);
    return {
      ...values,
      INFERENCE_REPLICA_ID: values.INFERENCE_REPLICA_ID ?? defaultReplicaId(values.INFERENCE_PORT),
    };
  }
}
