import { isLoopback } from '../auth/listen-policy';

/** The header a page on another site cannot send without a CORS preflight (which no Sepal app answers). */
export const CLIENT_HEADER = 'x-sepal-client';

type Headers = Record<string, string | string[] | undefined>;

export interface LocalOnlyRequest {
  method: string;
  headers: Headers;
  /** The route is a prediction (scope `predict`): it changes nothing stored, so it needs no client header. */
  prediction?: boolean;
}

export interface Refusal {
  statusCode: number;
  message: string;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Content types a state change may carry: none of them is one a cross-site form or a simple request can send. */
const ACCEPTED_TYPES =
  /^(application\/(json|[\w.+-]+\+json|octet-stream|zip)|text\/csv|multipart\/form-data)\s*(;|$)/i;

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/** The host name of a Host header or an origin's authority, lowercase, without port or IPv6 brackets. */
export function hostName(authority: string): string {
  const trimmed = authority.trim().toLowerCase();
  if (trimmed.startsWith('['))
    return trimmed.slice(1, trimmed.indexOf(']') > 0 ? trimmed.indexOf(']') : undefined);
  const colon = trimmed.lastIndexOf(':');
  return colon >= 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed;
}

/** SEPAL_ALLOWED_HOSTS: comma-separated host names (lowercase, no port); `*` allows any. */
export function parseAllowedHosts(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

const shown = (value: string) => JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);

const hasBody = (headers: Headers) =>
  first(headers['transfer-encoding']) !== undefined || Number(first(headers['content-length']) ?? 0) > 0;

/**
 * Keyless means this machine only. With no keys configured every caller is the anonymous admin, so a request must
 * come from this machine, not from a web page on another site the user happens to visit, nor through a DNS name
 * rebound to 127.0.0.1:
 * - the Host is loopback (localhost, 127.0.0.0/8, ::1, any port) or a name in SEPAL_ALLOWED_HOSTS: else 421;
 * - a browser's cross-site or same-site request (Sec-Fetch-Site), other than a top-level navigation, is refused: 403;
 * - a state change (POST, PUT, PATCH, DELETE) with an Origin must come from the Host's own origin: else 403; its body
 *   must be JSON, CSV, octet-stream, zip or multipart (415), and it must carry `X-Sepal-Client` (or a key header), which a
 *   page on another site cannot send without a CORS preflight: else 403. Predictions need no client header (they
 *   change nothing stored and their JSON body already needs a preflight).
 * Returns the refusal, or undefined when the request may go on.
 */
export function localOnlyRefusal(
  request: LocalOnlyRequest,
  allowedHosts: readonly string[],
): Refusal | undefined {
  const { headers } = request;
  const host = first(headers.host) ?? '';
  const name = hostName(host);
  if (!isLoopback(name) && !allowedHosts.includes('*') && !allowedHosts.includes(name)) {
    return {
      statusCode: 421,
      message:
        `Host ${shown(host)} is not this machine: keys are off (no SEPAL_API_KEY), so this app answers only requests ` +
        'addressed to localhost, 127.0.0.1 or [::1]. Use one of those, add the name to SEPAL_ALLOWED_HOSTS, or turn ' +
        'keys on (SEPAL_API_KEY).',
    };
  }
  const site = first(headers['sec-fetch-site'])?.toLowerCase();
  const navigation = first(headers['sec-fetch-mode'])?.toLowerCase() === 'navigate';
  const changes = STATE_CHANGING.has(request.method.toUpperCase());
  if ((site === 'cross-site' || site === 'same-site') && (changes || !navigation)) {
    return {
      statusCode: 403,
      message:
        `A page on another site may not call this app (Sec-Fetch-Site: ${site}): keys are off, so it serves this ` +
        'machine only. Use the console or the CLI, or turn keys on (SEPAL_API_KEY).',
    };
  }
  if (!changes) return undefined;
  const origin = first(headers.origin);
  if (origin !== undefined && !sameOrigin(origin, host)) {
    return {
      statusCode: 403,
      message:
        `A state change from another origin (Origin: ${shown(origin)}) is refused: keys are off, so this app serves ` +
        'this machine only. Call it from its own origin, the console or the CLI, or turn keys on (SEPAL_API_KEY).',
    };
  }
  const type = first(headers['content-type']);
  if (hasBody(headers) && !(type && ACCEPTED_TYPES.test(type))) {
    return {
      statusCode: 415,
      message:
        `body: unsupported content type${type ? ` ${shown(type)}` : ' (none given)'}; send JSON ` +
        '(Content-Type: application/json), CSV (text/csv), application/zip or application/octet-stream',
    };
  }
  if (
    !request.prediction &&
    !first(headers[CLIENT_HEADER]) &&
    !first(headers['x-api-key']) &&
    !first(headers.authorization)
  ) {
    return {
      statusCode: 403,
      message:
        'A state change needs the header X-Sepal-Client (any value, e.g. `X-Sepal-Client: 1`) while keys are off: ' +
        'a page on another site cannot send it. The console, the CLI and the apps send it.',
    };
  }
  return undefined;
}

/** Whether `origin` (scheme://host[:port]) is the origin the request was addressed to (its Host header). */
function sameOrigin(origin: string, host: string): boolean {
  if (origin === 'null') return false;
  try {
    const url = new URL(origin);
    const defaultPort = url.protocol === 'https:' ? '443' : '80';
    const [hostOnly, hostPort] = splitHost(host);
    const sameHost = url.hostname.replace(/^\[|\]$/g, '').toLowerCase() === hostOnly;
    return sameHost && (url.port || defaultPort) === (hostPort || defaultPort);
  } catch {
    return false;
  }
}

function splitHost(host: string): [string, string] {
  const name = hostName(host);
  const rest = host.trim().toLowerCase();
  const portMatch = /:(\d+)$/.exec(rest.startsWith('[') ? rest.slice(rest.indexOf(']') + 1) : rest);
  return [name, portMatch?.[1] ?? ''];
}
