/*
 * What docs/configuration.md says about a variable whose schema has no JSDoc comment (nor .describe()). A comment
 * above the variable in its schema wins over these, so moving a line from here into the schema changes nothing in
 * the page. Keys: `<section>.<VARIABLE>` for one app's variable, or `<VARIABLE>` for any app that reads it.
 */
export const FALLBACK_DESCRIPTIONS: Record<string, string> = {
  DATABASE_URL:
    '`postgres://user:pass@host:5432/db`. Unset: the embedded PGlite database under SEPAL_HOME (data and registry).',
  AMQP_URL: '`amqp://user:pass@host:5672`. Unset: the in-process bus (every app in one process).',
  SEPAL_HOME: 'Where the embedded mode keeps its database.',
  SEPAL_NAMESPACE: 'Prefix of every exchange and queue: isolates several Sepals on one broker.',
  AUTH_FAILURE_BURST:
    'Failed key checks one address may make at once before AUTH_FAILURES_PER_MINUTE applies.',
  LOG_LEVEL: 'The least severe log line written.',
  LOG_FORMAT: 'Structured JSON lines, or `pretty` for a terminal (`sepal up` uses pretty).',
  DATA_PORT: 'Port of the data service.',
  REGISTRY_PORT: 'Port of the registry.',
  TRAINER_PORT: 'Port of the trainer.',
  INFERENCE_PORT: 'Port of the inference gateway.',
  CONSOLE_PORT: 'Port of the web console.',
  SPLIT_TEST_FRACTION: 'Share of each stratum in the test split.',
  SPLIT_SEED: 'Seed of the hash-based, stratified split.',
  DATA_MAX_UPLOAD_BYTES: 'Largest JSON body (feedback, requests other than the CSV import); 413 beyond.',
  REGISTRY_MAX_ARTIFACT_BYTES: 'Largest artifact upload; 413 beyond.',
  'trainer.DATA_URL': 'Where the data service is (the trainer reads dataset versions from it).',
  'trainer.REGISTRY_URL':
    'Where the registry is (jobs, runs, artifacts, promotion; it also checks API keys).',
  'inference.REGISTRY_URL': 'Where the registry is (champions, artifacts, lineage; it also checks API keys).',
  'console.REGISTRY_URL': 'The registry the console proxies under `/api/registry/*`.',
  'console.TRAINER_URL': 'The trainer the console proxies under `/api/trainer/*`.',
  'console.INFERENCE_URL':
    'The gateway the console proxies under `/api/inference/*` (and samples for traffic).',
  SCHEDULE_DATASET: 'The dataset a scheduled retrain (TRAIN_SCHEDULE_MINUTES) trains on.',
  TRAIN_MAX_HIDDEN_UNITS: 'Units per hidden layer a job may ask for.',
  TRAIN_MAX_HIDDEN_LAYERS: 'Hidden layers a job may ask for.',
  TRAIN_MAX_EPOCHS: 'Epochs of one trial.',
  TRAIN_MAX_BATCH_SIZE: 'Batch size of one trial.',
  TRAIN_MAX_PARAMETERS: 'Weights and biases of one network (checked again once the data is read).',
  TRAIN_MAX_TRIALS: 'Trials (grid combinations) of one job.',
  TRAIN_MAX_ROW_EPOCHS: 'Training rows × epochs of one trial (checked once the data is read).',
  TRAIN_MAX_BUDGET_S: 'The largest `budgetSeconds` a request may ask for.',
  MAX_BATCH_ROWS: 'Rows one prediction request may carry; 400 beyond.',
  MAX_BODY_BYTES: 'Largest prediction or feedback body; 413 beyond.',
};

/** Defaults that depend on the machine the schema is loaded on, as the page states them. */
export const MACHINE_DEPENDENT_DEFAULTS: Record<string, string> = {
  TRAINER_WORKERS: 'cores − 1, at least 1',
  TRAINER_REPLICA_ID: '`<hostname>:<pid>`',
};
