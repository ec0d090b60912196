import { Inject, Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ConsoleConfig, ConsoleConfigValues } from '../console.config';

export const MAX_STREAM_JOBS = 200;

export interface StreamOptions {
  /** The caller's X-API-Key / Authorization headers, forwarded to the registry. */
  headers: Record<string, string>;
  maxResults: number;
}

/**
 * Server-sent events of the training jobs: the registry is polled every CONSOLE_JOBS_POLL_MS on the client's behalf
 * (with its key) and each change of the job list is sent as one `jobs` event; `problem` events say why it cannot.
 */
@Injectable()
export class JobsStreamService {
  private open = 0;

  constructor(@Inject(ConsoleConfig) private readonly config: ConsoleConfigValues) {}

  get openStreams(): number {
    return this.open;
  }

  /** Whether one more stream fits under CONSOLE_MAX_STREAMS. */
  hasRoom(): boolean {
    return this.open < this.config.CONSOLE_MAX_STREAMS;
  }

  /** Streams until the client goes away; the response must not have been written yet. */
  stream(raw: ServerResponse, options: StreamOptions): void {
    this.open += 1;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: 2000\n\n`);
    let closed = false;
    let last = '';
    let lastWrite = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const send = (event: string, data: string) => {
      raw.write(`event: ${event}\ndata: ${data}\n\n`);
      lastWrite = Date.now();
    };
    const poll = async () => {
      if (closed) return;
      try {
        const response = await fetch(`${this.config.REGISTRY_URL}/jobs?maxResults=${options.maxResults}`, {
          headers: options.headers,
          signal: AbortSignal.timeout(Math.max(5_000, this.config.CONSOLE_JOBS_POLL_MS * 5)),
        });
        const text = await response.text();
        if (closed) return;
        if (!response.ok) {
          const data = JSON.stringify({ status: response.status, message: messageOf(text) });
          if (data !== last) send('problem', data);
          last = data;
          if (response.status === 401 || response.status === 403) return finish();
        } else if (text !== last) {
          send('jobs', text);
          last = text;
        } else if (Date.now() - lastWrite > 15_000) {
          raw.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
      } catch (error) {
        const data = JSON.stringify({
          status: 502,
          message: `the registry at ${this.config.REGISTRY_URL} is unreachable (${(error as Error).message})`,
        });
        if (!closed && data !== last) send('problem', data);
        last = data;
      }
      if (!closed) timer = setTimeout(() => void poll(), this.config.CONSOLE_JOBS_POLL_MS);
    };
    const finish = () => {
      if (closed) return;
      closed = true;
      this.open -= 1;
      clearTimeout(timer);
      raw.end();
    };
    raw.on('close', finish);
    void poll();
  }
}

function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : text.slice(0, 500);
  } catch {
    return text.slice(0, 500);
  }
}
