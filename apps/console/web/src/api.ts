/** Calls to the services through the console's proxy (/api/<service>/...), with the API key when one is set. */
export type Service = 'data' | 'registry' | 'trainer' | 'inference' | 'console';

const KEY_STORAGE = 'sepal.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = undefined,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** The key lives for this tab only (sessionStorage): closing the tab forgets it, and no other tab or site reads it. */
export function getKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * The key when one is set, and always X-Sepal-Client: with keys off the services take a state change only with it (a
 * page on another site cannot send it without a preflight they never grant).
 */
export function authHeaders(): Record<string, string> {
  const key = getKey();
  return { 'x-sepal-client': '1', ...(key ? { 'x-api-key': key } : {}) };
}

export function apiUrl(service: Service, path: string): string {
  return `/api/${service}${path}`;
}

export interface CallOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  /** Do not open the key prompt on 401 (probes). */
  quiet?: boolean;
}

/** The raw response; 401 opens the key prompt. */
export async function call(service: Service, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.contentType) headers['content-type'] = options.contentType;
  const response = await fetch(apiUrl(service, path), { method: options.method ?? 'GET', headers, body });
  if (response.status === 401 && !options.quiet) for (const listener of unauthorizedListeners) listener();
  return response;
}

/** JSON answer, or an ApiError carrying the service's message. */
export async function api<T>(service: Service, path: string, options: CallOptions = {}): Promise<T> {
  const response = await call(service, path, options);
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!response.ok) {
    const message =
      body && typeof body === 'object' && 'message' in body
        ? String((body as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message, body);
  }
  return body as T;
}

export const enc = encodeURIComponent;
