import { Inject, Injectable } from '@nestjs/common';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { ConsoleConfig, ConsoleConfigValues } from '../console.config';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface StaticAnswer {
  status: number;
  type: string;
  cacheControl: string;
  body: Buffer | string;
}

/** The build of the web app: dist/apps/console/web, beside the compiled (dist/...) or source (apps/...) server. */
export function defaultWebDir(): string {
  const inBuild = __dirname.split(sep).includes('dist');
  return inBuild ? resolve(__dirname, '../../web') : resolve(__dirname, '../../../../dist/apps/console/web');
}

/** Serves the single-page app: files of the build, and index.html for any other page path (client routing). */
@Injectable()
export class StaticFilesService {
  readonly root: string;
  private readonly cache = new Map<string, Buffer>();

  constructor(@Inject(ConsoleConfig) config: ConsoleConfigValues) {
    this.root = resolve(config.CONSOLE_WEB_DIR ?? defaultWebDir());
  }

  get built(): boolean {
    return existsSync(join(this.root, 'index.html'));
  }

  answer(urlPath: string): StaticAnswer {
    if (!this.built) {
      return {
        status: 503,
        type: 'text/plain; charset=utf-8',
        cacheControl: 'no-store',
        body:
          `The console's web build is missing (${join(this.root, 'index.html')}): run \`npm run build\` ` +
          '(it builds the web app with Vite), or point CONSOLE_WEB_DIR at a build.',
      };
    }
    let path: string;
    try {
      path = decodeURIComponent(urlPath.split('?')[0]);
    } catch {
      return {
        status: 400,
        type: 'text/plain; charset=utf-8',
        cacheControl: 'no-store',
        body: 'bad URL encoding',
      };
    }
    const file = resolve(this.root, `.${normalize(`/${path}`)}`);
    const inside = file.startsWith(this.root + sep);
    if (inside && extname(file) && this.isFile(file)) {
      return {
        status: 200,
        type: TYPES[extname(file)] ?? 'application/octet-stream',
        // Vite names assets by content hash: they never change.
        cacheControl: path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        body: this.read(file),
      };
    }
    if (extname(path) && path.startsWith('/assets/')) {
      return {
        status: 404,
        type: 'text/plain; charset=utf-8',
        cacheControl: 'no-store',
        body: `no asset ${path}`,
      };
    }
    return {
      status: 200,
      type: TYPES['.html'],
      cacheControl: 'no-cache',
      body: this.read(join(this.root, 'index.html')),
    };
  }

  private isFile(file: string): boolean {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  }

  private read(file: string): Buffer {
    let body = this.cache.get(file);
    if (!body) {
      body = readFileSync(file);
      this.cache.set(file, body);
    }
    return body;
  }
}
