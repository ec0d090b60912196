import { LoggerService, LogLevel } from '@nestjs/common';

/** Nest's start-up chatter (every module and route): kept at debug so info shows what the apps do. */
const NEST_STARTUP_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestMicroservice',
]);

let processServiceName: string | undefined;

/**
 * Names the whole process in every log line. Nest routes its static Logger to the logger of the last app created, so
 * when several apps share one process (`sepal up`) per-app service names would be wrong; call this before they start.
 */
export function useProcessWideServiceName(name: string): void {
  processServiceName = name;
}

const ORDER: Record<string, number> = { verbose: 0, debug: 1, log: 2, info: 2, warn: 3, error: 4, fatal: 5 };
const LEVEL_NAME: Record<LogLevel, string> = {
  verbose: 'debug',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

export interface JsonLoggerOptions {
  service: string;
  level?: 'debug' | 'info' | 'warn' | 'error';
  format?: 'json' | 'pretty';
  write?: (line: string) => void;
}

/** Structured logs: one JSON object a line (or a readable line in pretty mode), with service and context. */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;
  private readonly write: (line: string) => void;

  constructor(private readonly options: JsonLoggerOptions) {
    this.threshold = ORDER[options.level ?? 'info'];
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', message, rest);
  }

  private emit(requested: LogLevel, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const level: LogLevel =
      requested === 'log' && context && NEST_STARTUP_CONTEXTS.has(context) ? 'debug' : requested;
    if (ORDER[level] < this.threshold) return;
    if (context) rest.pop();
    const extra = rest.filter((part) => part !== undefined);
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: LEVEL_NAME[level],
      service: processServiceName ?? this.options.service,
      ...(context ? { context } : {}),
      ...(typeof message === 'object' && message !== null ? message : { msg: String(message) }),
    };
    if (extra.length) entry.stack = extra.map(String).join('\n');
    if (this.options.format === 'pretty') {
      const text = typeof entry.msg === 'string' ? entry.msg : JSON.stringify(message);
      this.write(
        `${entry.time} ${String(entry.level).toUpperCase().padEnd(5)} [${processServiceName ?? this.options.service}${context ? `:${context}` : ''}] ${text}${entry.stack ? `\n${String(entry.stack)}` : ''}`,
      );
    } else {
      this.write(JSON.stringify(entry));
    }
  }
}
