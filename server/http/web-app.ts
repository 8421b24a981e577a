/**
 * Serves the built web app (`npm run build` → dist/web): hashed assets, and
 * index.html for each client-side route, the embeddable widgets included.
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ProblemError } from './problem.ts';

/** Paths the web app routes itself. */
const CLIENT_ROUTES = [
  '/', '/orders', '/orders/:orderId', '/inventory', '/fulfilment', '/alerts', '/pipeline', '/dead-letters', '/catalog', '/lineage',
  '/lineage/:correlationId', '/audit', '/keys', '/embed/:view',
];

export interface WebAppOptions {
  /** The Content-Security-Policy of an embed page, from its `?token=` (who may frame it). */
  embedPolicy?: (token: string | undefined) => Promise<string>;
}

export function webAppRoutes(distDir: string, options: WebAppOptions = {}): Hono {
  const app = new Hono();
  const indexFile = path.join(distDir, 'index.html');
  // Vite names assets by content hash: they never change under one name.
  app.use('/assets/*', async (c, next) => {
    await next();
    if (c.res.ok) c.header('cache-control', 'public, max-age=31536000, immutable');
  }, serveStatic({ root: distDir }));
  for (const route of CLIENT_ROUTES) {
    app.get(route, async (c) => {
      if (!existsSync(indexFile)) {
        throw new ProblemError('unavailable', 503, 'The web app is not built: run `npm run build` (npm start and npm run demo do it).');
      }
      c.header('cache-control', 'no-cache');
      if (route === '/embed/:view' && options.embedPolicy) c.header('content-security-policy', await options.embedPolicy(c.req.query('token')));
      return c.html(readFileSync(indexFile, 'utf8'));
    });
  }
  return app;
}
