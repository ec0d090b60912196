import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '../..');

export interface ComposeService {
  image?: string;
  entrypoint?: string[] | string;
  build?: unknown;
  environment?: Record<string, string | number>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readYaml<T>(relativePath: string): T {
  return parse(readFileSync(join(ROOT, relativePath), 'utf8'), { merge: true }) as T;
}

/** KEY=value lines of an env file. */
export function readEnvFile(relativePath: string): Record<string, string> {
  const entries = readFileSync(join(ROOT, relativePath), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

/** Docker Compose interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (an unset required one throws). */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_match, name: string, op?: string, arg?: string) => {
      const set = env[name];
      if (set !== undefined && set !== '') return set;
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`${name} is required: ${arg}`);
      return '';
    },
  );
}

export function serviceEnv(service: ComposeService, env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), env)]),
  );
}
