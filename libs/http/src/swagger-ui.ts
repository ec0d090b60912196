import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

/**
 * Serves Swagger UI at `/docs` for the OpenAPI document at `/docs/json`. Nest's own UI serving needs
 * @fastify/static, whose ES-module dependencies Jest cannot load, so the three assets are served from memory.
 */
export function serveSwaggerUi(fastify: FastifyInstance, title: string): void {
  const dist = join(require.resolve('swagger-ui-dist/package.json'), '..');
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(join(dist, name))]));
  for (const [name, body] of assets) {
    fastify.get(`/docs/${name}`, (_request, reply) => {
      void reply.type(ASSETS[name]).header('cache-control', 'public, max-age=86400').send(body);
    });
  }
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/docs/json', dom_id: '#swagger-ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout', persistAuthorization: true });</script>
</body></html>`;
  fastify.get('/docs', (_request, reply) => {
    void reply.type('text/html; charset=utf-8').send(page);
  });
}
