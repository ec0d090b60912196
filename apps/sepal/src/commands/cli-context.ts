import { serviceUrls } from '../client/endpoints';

export interface CliContext {
  urls: ReturnType<typeof serviceUrls>;
  apiKey?: string;
}

export function cliContextFromEnv(env: NodeJS.ProcessEnv = process.env): CliContext {
  return { urls: serviceUrls(env), apiKey: env.SEPAL_API_KEY || undefined };
}
