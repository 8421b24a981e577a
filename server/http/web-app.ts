/**
 * Serves the built web app (`npm run build` → dist/web): hashed assets,
 * index.html for each client-side route, the embeddable widgets included, and
 * `/eventdeck-view.js`, the `<eventdeck-view>` element that portals load.
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

/** The portal's script, under a name that never changes (vite.config.ts builds it). */
const WIDGET_SCRIPT = 'eventdeck-view.js';

export interface WebAppOptions {
  /** The Content-Security-Policy of an embed page, from its `?token=` (who may frame it). */
  embedPolicy?: (token: string | undefined) => Promise<string>;
}

export function webAppRoutes(distDir: string, options: WebAppOptions = {}): Hono {
  const app = new Hono();
  const indexFile = path.join(distDir, 'index.html');
  const notBuilt = () => new ProblemError('unavailable', 503, 'The web app is not built: run `npm run build` (npm start and npm run demo do it).');
  // Vite names assets by content hash: they never change under one name.
  app.use('/assets/*', async (c, next) => {
    await next();
    if (c.res.ok) c.header('cache-control', 'public, max-age=31536000, immutable');
  }, serveStatic({ root: distDir }));
  for (const route of CLIENT_ROUTES) {
    app.get(route, async (c) => {
      if (!existsSync(indexFile)) throw notBuilt();
      c.header('cache-control', 'no-cache');
      if (route === '/embed/:view' && options.embedPolicy) c.header('content-security-policy', await options.embedPolicy(c.req.query('token')));
      return c.html(readFileSync(indexFile, 'utf8'));
    });
  }
  // Loaded by other sites' pages as a module script (it reads import.meta.url), fetched with CORS: anyone may load it
  // (it holds no data; the token in the element opens the widget). Revalidated, as its name never changes.
  app.get(`/${WIDGET_SCRIPT}`, (c) => {
    const file = path.join(distDir, WIDGET_SCRIPT);
    if (!existsSync(file)) throw notBuilt();
    c.header('access-control-allow-origin', '*');
    c.header('cache-control', 'no-cache');
    c.header('content-type', 'text/javascript; charset=utf-8');
    return c.body(readFileSync(file, 'utf8'));
  });
  return app;
}
