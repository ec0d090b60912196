/** A failed call to a Sepal service, with the service's own message and hint when it gave them. */
export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface ServiceClientOptions {
  baseUrl: string;
  apiKey?: string;
  service: string;
}

/** JSON over HTTP to one Sepal service. */
export class ServiceClient {
  constructor(private readonly options: ServiceClientOptions) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  async text(path: string): Promise<string> {
    const response = await this.send('GET', path);
    return response.text();
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.options.apiKey ? { 'x-api-key': this.options.apiKey } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      throw new ServiceError(
        `cannot reach the ${this.options.service} service at ${this.options.baseUrl} (${(error as Error).cause ?? (error as Error).message})`,
        null,
        `Start it (npm start, or npm run start:${this.options.service}) or point SEPAL_${this.options.service.toUpperCase()}_URL at it.`,
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let parsed: { message?: string; hint?: string } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { message: text.slice(0, 500) };
      }
      throw new ServiceError(parsed.message ?? `HTTP ${response.status}`, response.status, parsed.hint);
    }
    return response;
  }
}
