/**
 * Where the CLI finds each service: SEPAL_<SERVICE>_URL, else the URL the apps themselves are given (so the CLI works
 * inside a compose container), else this machine with the ports of `sepal up`.
 */
export function serviceUrls(env: NodeJS.ProcessEnv = process.env) {
  return {
    data: env.SEPAL_DATA_URL ?? env.DATA_URL ?? 'http://127.0.0.1:3001',
    registry: env.SEPAL_REGISTRY_URL ?? env.REGISTRY_URL ?? 'http://127.0.0.1:3002',
    trainer: env.SEPAL_TRAINER_URL ?? env.TRAINER_URL ?? 'http://127.0.0.1:3003',
    inference: env.SEPAL_INFERENCE_URL ?? env.INFERENCE_URL ?? 'http://127.0.0.1:3000',
  };
}
