import { ServiceCallError, ServiceClient } from '@sepal/http-client';
import { serviceUrls } from './endpoints';

export type ServiceName = keyof ReturnType<typeof serviceUrls>;

/** Generous: an import of a large file or a slow first answer should not be cut short (Ctrl-C stops the CLI). */
const CLI_TIMEOUT_MS = 5 * 60_000;

/** The CLI's client of one service: its URL, the caller's API key, and how to fix it when it cannot be reached. */
export function serviceClient(
  target: { urls: Record<ServiceName, string>; apiKey?: string },
  service: ServiceName,
): ServiceClient {
  return new ServiceClient({
    service,
    baseUrl: target.urls[service],
    apiKey: target.apiKey,
    timeoutMs: CLI_TIMEOUT_MS,
    unreachableHint: `Start it (npm start, or npm run start:${service}) or point SEPAL_${service.toUpperCase()}_URL at it.`,
  });
}

/**
 * What the CLI prints for a failed call: for a refusal the service's own message (it names the problem), for an
 * unreachable service where it was looked for; then the hint.
 */
export function describeServiceError(error: ServiceCallError): string {
  const message =
    error.status === null
      ? `cannot reach the ${error.service} service at ${error.url} (${error.detail})`
      : error.status >= 400
        ? error.detail
        : error.message;
  return `error: ${message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
}
