import { Injectable } from '@nestjs/common';

export type HealthCheck = () => Promise<string | void> | string | void;

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, { status: 'up' | 'down'; detail?: string }>;
}

/** Readiness checks contributed by each module (database, broker, model...); a throw means down. */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  async report(timeoutMs = 2000): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const detail = await Promise.race([
            Promise.resolve(check()),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref(),
            ),
          ]);
          return [name, { status: 'up' as const, ...(detail ? { detail } : {}) }] as const;
        } catch (error) {
          return [name, { status: 'down' as const, detail: (error as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const status = entries.every(([, c]) => c.status === 'up') ? 'ok' : 'unavailable';
    return { status, checks };
  }
}
