import { ConfigError } from '@sepal/config';

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export interface ListenPolicyInput {
  service: string;
  host: string;
  keysConfigured: boolean;
  insecure: boolean;
}

/**
 * Safe by default: an app reachable beyond this machine must check keys. Returns the warning to log when it serves
 * without them on purpose (SEPAL_INSECURE=true); throws the configuration error saying what to set otherwise.
 */
export function checkListenPolicy(input: ListenPolicyInput): string | undefined {
  if (input.keysConfigured) return undefined;
  if (isLoopback(input.host)) return undefined;
  if (input.insecure) {
    return (
      `INSECURE: ${input.service} listens on ${input.host} without API keys (SEPAL_INSECURE=true): anyone who can ` +
      'reach it can import data, train and promote models. Set SEPAL_API_KEY instead.'
    );
  }
  throw new ConfigError([
    `HOST=${JSON.stringify(input.host)}: ${input.service} would listen beyond loopback with no API key. Set ` +
      'SEPAL_API_KEY (at least 16 characters; the bootstrap admin key, e.g. `openssl rand -hex 32`), or listen on ' +
      '127.0.0.1, or set SEPAL_INSECURE=true to serve without keys on purpose',
  ]);
}
