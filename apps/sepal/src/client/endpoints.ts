/** Where the CLI finds each service; the defaults are those of `sepal up` on this machine. */
export function serviceUrls(env: NodeJS.ProcessEnv = process.env) {
  return {
    data: env.SEPAL_DATA_URL ?? 'http://127.0.0.1:3001',
    registry: env.SEPAL_REGISTRY_URL ?? 'http://127.0.0.1:3002',
    trainer: env.SEPAL_TRAINER_URL ?? 'http://127.0.0.1:3003',
    inference: env.SEPAL_INFERENCE_URL ?? 'http://127.0.0.1:3000',
  };
}
