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
const CLIENT_ROUTES = ['/', '/orders', '/orders/:orderId', '/inventory', '/fulfilment', '/alerts', '/dead-letters', '/catalog', '/lineage', '/lineage/:correlationId', '/embed/:view'];

export function webAppRoutes(distDir: string): Hono {
  const app = new Hono();
  const indexFile = path.join(distDir, 'index.html');
  // Vite names assets by content hash: they never change under one name.
  app.use('/assets/*', async (c, next) => {
    await next();
    if (c.res.ok) c.header('cache-control', 'public, max-age=31536000, immutable');
  }, serveStatic({ root: distDir }));
  for (const route of CLIENT_ROUTES) {
    app.get(route, (c) => {
      if (!existsSync(indexFile)) {
        throw new ProblemError('unavailable', 503, 'The web app is not built: run `npm run build` (npm start and npm run demo do it).');
      }
      c.header('cache-control', 'no-cache');
      return c.html(readFileSync(indexFile, 'utf8'));
    });
  }
  return app;
}
