import { eventsOwnedBy, PRODUCER_APPS } from '@sepal/contracts';
import type { AppName } from './kubernetes-env';
import type { Peer } from './network-flows';

/** Secrets the manifests reference but do not contain: made at install time (docs/kubernetes.md). */
export const EXTERNAL_SECRETS = [
  // bootstrap-keys.sh: each app's own key, made by the registry (it shows a secret once).
  'Secret/sepal-data-key',
  'Secret/sepal-trainer-key',
  'Secret/sepal-inference-key',
  'Secret/sepal-console-key',
  // The Ingress certificate: cert-manager's (production) or your own.
  'Secret/sepal-tls',
];

/** The events each app publishes, hence may publish (its topic permission on sepal.events): EVENT_OWNERS. */
export const OWNED_EVENTS: Record<string, string[]> = Object.fromEntries(
  PRODUCER_APPS.map((app) => [app, eventsOwnedBy(app)]),
);

/** Every app leaves these at their defaults: the embedded mode's, or settings whose default is the right one here. */
const BASE_DEFAULTS = [
  'SEPAL_HOME', // the embedded mode's directory
  'SEPAL_NAMESPACE', // one Sepal per RabbitMQ vhost: no exchange/queue prefix
  'SEPAL_INSECURE', // false: keys are on
  'SEPAL_KEY_CACHE_MS',
  'AUTH_FAILURES_PER_MINUTE',
  'AUTH_FAILURE_BURST',
  'SEPAL_REQUEST_TIMEOUT_MS',
  'AMQP_PRODUCERS', // the apps' broker users are sepal_<app> (generate-secrets.sh), the default
  'AMQP_QUORUM_QUEUES', // on: work queues are quorum queues
  'AMQP_DELIVERY_LIMIT',
  'SEPAL_ALLOWED_HOSTS', // keyless only; keys are on here
  'HTTP_BODY_LIMIT_BYTES',
  'AUTH_CHECKS_IN_FLIGHT',
  'AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS',
  'SEPAL_TRUSTED_PROXIES', // the ingress controller's addresses are the cluster's: docs/kubernetes.md says to set it
];

/** Variables each app's config reads that its Deployment leaves at their defaults, knowingly. */
export const DEFAULTED: Record<AppName, string[]> = {
  data: [
    ...BASE_DEFAULTS,
    'SEPAL_API_KEY_NAME', // the registry names the bootstrap key
    'DATA_HOST', // HOST
    'SPLIT_TEST_FRACTION',
    'SPLIT_SEED',
    'DATA_MAX_IMPORT_BYTES',
    'DATA_MAX_UPLOAD_BYTES',
    'FEEDBACK_RATE_PER_KEY',
    'FEEDBACK_BURST_PER_KEY',
    'PREDICTION_LOG_RETENTION_DAYS',
    'PREDICTION_QUALITY_WINDOW_MINUTES',
    'PREDICTION_QUALITY_INTERVAL_MS',
    'DATA_MAX_IMAGE_IMPORT_BYTES',
    'DATA_MAX_IMAGE_FILES',
    'DATA_MAX_IMAGE_FILE_BYTES',
    'DATA_MAX_IMAGE_PIXELS',
    'DATA_MAX_IMAGE_SIDE',
    'FASHION_MNIST_DIR', // the data image has no Fashion-MNIST files: import images as zips there
  ],
  registry: [
    ...BASE_DEFAULTS,
    'SEPAL_API_KEY_NAME', // admin
    'REGISTRY_HOST',
    'REGISTRY_MAX_ARTIFACT_BYTES',
    'REGISTRY_MAX_TAGS',
    'REGISTRY_MAX_PARAMS',
    'REGISTRY_KEY_USAGE_FLUSH_MS',
    'REGISTRY_OUTBOX_INTERVAL_MS',
    'REGISTRY_PUBLISH_TIMEOUT_MS',
    'SEPAL_SERVICE_KEYS', // the apps' own keys are made by bootstrap-keys.sh
    'REGISTRY_ONNX_MAX_NODES',
    'REGISTRY_MAX_CONCURRENT_UPLOADS',
    'REGISTRY_BATCH_MAX_UPLOAD_BYTES',
    'REGISTRY_BATCH_MAX_ROWS',
    'REGISTRY_BATCH_MAX_OUTPUT_BYTES',
  ],
  trainer: [
    ...BASE_DEFAULTS,
    'DATABASE_URL', // keeps no state
    'SEPAL_API_KEY_NAME',
    'TRAINER_HOST',
    'TRAIN_SEED',
    'VALIDATION_FRACTION',
    'MIN_TRAIN_ROWS',
    'REGRESSION_TOLERANCE',
    'PARITY_TOLERANCE',
    'REGISTRY_RETRY_MS',
    'DATA_RETRY_MS',
    'TRAIN_SCHEDULE_MINUTES', // off: with it on, keep minReplicaCount >= 1 (it is)
    'SCHEDULE_DATASET',
    'RETRAIN_ON_FEEDBACK',
    'RETRAIN_ON_DRIFT',
    'DRIFT_DATASETS',
    'TRIAL_MESSAGE_MAX_BYTES',
    'TRIAL_QUEUE_TIMEOUT_S',
    'TRIAL_TIMEOUT_S',
    'TRAIN_MAX_HIDDEN_UNITS',
    'TRAIN_MAX_HIDDEN_LAYERS',
    'TRAIN_MAX_EPOCHS',
    'TRAIN_MAX_BATCH_SIZE',
    'TRAIN_MAX_PARAMETERS',
    'TRAIN_MAX_TRIALS',
    'TRAIN_MAX_ROW_EPOCHS',
    'TRAIN_MAX_TREES',
    'TRAIN_MAX_ROUNDS',
    'TRAIN_MAX_TREE_DEPTH',
    'TRAIN_MAX_LEAVES',
    'TRAIN_MAX_TREE_ROWS',
    'TRAIN_BUDGET_S',
    'TRAIN_MAX_BUDGET_S',
    'TRAIN_REFIT',
    'TRAIN_CV_MAX_ROWS',
    'TRAIN_CV_FOLDS',
    'PROMOTION_POLICY', // automatic, on the frozen evaluation set: docs/feedback.md
    'TRAINER_BATCH_MAX_ROWS',
    'TRAINER_BATCH_CHUNK_ROWS',
    'TRAINER_BATCH_ORT_THREADS',
    'TRAINER_BATCH_DIR', // the OS temp dir
  ],
  inference: [
    ...BASE_DEFAULTS,
    'DATABASE_URL', // keeps no state
    'SEPAL_API_KEY_NAME',
    'INFERENCE_HOST',
    'SHADOW_MAX_PENDING',
    'FEEDBACK_DATASET',
    'PREDICT_RATE_PER_KEY',
    'PREDICT_BURST_PER_KEY',
    'MAX_BATCH_ROWS',
    'MAX_BODY_BYTES',
    'PREDICT_COALESCE',
    'PREDICT_FAST_PATH',
    'PREDICT_STACKING',
    'PREDICT_STACK_MAX_MODELS',
    'PREDICT_STACK_MAX_BYTES',
    'PREDICT_STACK_DELAY_MS',
    'PREDICT_BATCH_WINDOW_US',
    'MODEL_RETRY_INTERVAL_MS',
    'MODEL_SYNC_INTERVAL_MS',
    'REGISTRY_TIMEOUT_MS',
    'DRIFT_WINDOW_ROWS',
    'IMAGE_MAX_BYTES',
    'IMAGE_MAX_PER_REQUEST',
    'IMAGE_MAX_PIXELS',
    'DRIFT_MIN_ROWS',
    'DRIFT_EVAL_INTERVAL_MS',
    'DRIFT_PSI_THRESHOLD',
    'DRIFT_COOLDOWN_MS',
    'PREDICTION_LOG_SAMPLE',
    'PREDICTION_LOG_QUEUE',
    'PREDICTION_LOG_BATCH',
    'PREDICTION_LOG_FLUSH_MS',
    'FEEDBACK_RATE_PER_KEY',
    'FEEDBACK_BURST_PER_KEY',
    'PREDICT_UNKNOWN_FEATURES',
  ],
  console: [
    'SEPAL_INSECURE',
    'SEPAL_ALLOWED_HOSTS',
    'SEPAL_KEY_CACHE_MS',
    'AUTH_FAILURES_PER_MINUTE',
    'AUTH_FAILURE_BURST',
    'AUTH_CHECKS_IN_FLIGHT',
    'AUTH_CHECKS_IN_FLIGHT_PER_ADDRESS',
    'CONSOLE_HOST',
    'CONSOLE_MAX_BODY_BYTES',
    'CONSOLE_PROXY_TIMEOUT_MS',
    'CONSOLE_METRICS_INTERVAL_MS',
    'CONSOLE_METRICS_WINDOW_MS',
    'CONSOLE_JOBS_POLL_MS',
    'CONSOLE_MAX_STREAMS',
    'CONSOLE_WEB_DIR', // the image's build
  ],
};

const ns = (name: string) => ({ 'kubernetes.io/metadata.name': name });

/** The pods of the namespace and what is around them, with the ports each listens on. */
export function flowPeers(namespace: string): Peer[] {
  const pod = (name: string, labels: Record<string, string>, ports: number[]): Peer => ({
    name,
    namespace,
    namespaceLabels: ns(namespace),
    labels,
    ports,
  });
  const outside = (name: string, where: string, labels: Record<string, string>, ports: number[]): Peer => ({
    name,
    namespace: where,
    namespaceLabels: ns(where),
    labels,
    ports,
  });
  const app = (name: string, port: number) => pod(name, { 'app.kubernetes.io/name': name }, [port]);
  return [
    app('data', 3001),
    app('registry', 3002),
    app('trainer', 3003),
    app('inference', 3000),
    app('console', 8080),
    pod('rabbitmq', { 'app.kubernetes.io/name': 'sepal-rabbitmq' }, [5672, 15672, 15692, 4369, 25672]),
    pod('postgres', { 'cnpg.io/cluster': 'sepal-pg' }, [5432, 8000, 9187]),
    // Anything else started in the namespace (a debug pod, a new app without its policy) reaches nothing.
    pod('stranger', { app: 'debug' }, [8080]),
    outside('ingress-nginx', 'ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' }, []),
    outside('prometheus', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' }, []),
    outside('grafana', 'monitoring', { 'app.kubernetes.io/name': 'grafana' }, []),
    outside('keda', 'keda', { app: 'keda-operator' }, []),
    outside(
      'rabbitmq-operator',
      'rabbitmq-system',
      { 'app.kubernetes.io/name': 'rabbitmq-cluster-operator' },
      [],
    ),
    outside('cnpg-operator', 'cnpg-system', { 'app.kubernetes.io/name': 'cloudnative-pg' }, []),
    outside('kube-dns', 'kube-system', { 'k8s-app': 'kube-dns' }, [53]),
    outside('other-namespace', 'default', { 'app.kubernetes.io/name': 'inference' }, [3000]),
    { ...outside('kube-apiserver', 'default', {}, [443, 6443]), ip: '10.0.0.1' },
    { ...outside('internet', 'default', {}, [80, 443, 5432, 5672]), ip: '203.0.113.10' },
  ];
}

const IN_NAMESPACE = [
  'data',
  'registry',
  'trainer',
  'inference',
  'console',
  'rabbitmq',
  'postgres',
  'stranger',
];

/** Every flow the NetworkPolicies must allow, and the only ones. */
export const EXPECTED_FLOWS = [
  // clients and browsers, through the ingress controller
  'ingress-nginx -> inference:3000',
  'ingress-nginx -> console:8080',
  // the console's proxy
  'console -> data:3001',
  'console -> registry:3002',
  'console -> trainer:3003',
  'console -> inference:3000',
  // the apps calling each other
  'data -> registry:3002',
  'trainer -> registry:3002',
  'inference -> registry:3002',
  'trainer -> data:3001',
  // PostgreSQL and RabbitMQ
  'data -> postgres:5432',
  'registry -> postgres:5432',
  'data -> rabbitmq:5672',
  'registry -> rabbitmq:5672',
  'trainer -> rabbitmq:5672',
  'inference -> rabbitmq:5672',
  // monitoring
  ...['data:3001', 'registry:3002', 'trainer:3003', 'inference:3000', 'console:8080'].map(
    (t) => `prometheus -> ${t}`,
  ),
  'prometheus -> rabbitmq:15692',
  'prometheus -> postgres:9187',
  // the operators, KEDA, and the clusters' own members
  'rabbitmq-operator -> rabbitmq:15672',
  'keda -> rabbitmq:15672',
  'rabbitmq -> rabbitmq:4369',
  'rabbitmq -> rabbitmq:25672',
  'cnpg-operator -> postgres:8000',
  'postgres -> postgres:5432',
  // the Kubernetes API for RabbitMQ's peer discovery and CloudNativePG's instance manager: its address is not known
  // to a NetworkPolicy, so these two may reach any address on 443/6443
  ...['rabbitmq', 'postgres'].flatMap((p) => [
    `${p} -> kube-apiserver:443`,
    `${p} -> kube-apiserver:6443`,
    `${p} -> internet:443`,
  ]),
  // DNS, for every pod of the namespace
  ...IN_NAMESPACE.map((p) => `${p} -> kube-dns:53`),
];
