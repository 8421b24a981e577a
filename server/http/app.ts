/**
 * The HTTP surface: one Hono app with every route and one error funnel that
 * turns failures into RFC 9457 problem documents (no stack traces out).
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { problemDocument, problemResponse, ProblemError } from './problem.ts';

export interface HttpApp {
  /** Mounts a sub-app under a path, e.g. '/api/events'. */
  routes: Array<[path: string, app: Hono]>;
  /** Run before the routes, in order, on the requests their path matches (security headers, authentication, rights, audit). */
  middleware?: Array<[path: string, handler: MiddlewareHandler]>;
  log: (line: string) => void;
}

export function createHttpApp({ routes, middleware = [], log }: HttpApp): Hono {
  const app = new Hono();
  for (const [path, handler] of middleware) app.use(path, handler);
  for (const [path, sub] of routes) app.route(path, sub);
  app.notFound((c) => problemResponse(c, problemDocument('notFound', 404, `Nothing at ${c.req.method} ${c.req.path}.`)));
  app.onError((error, c) => {
    if (error instanceof ProblemError) return problemResponse(c, error.document, error.headers);
    if (error instanceof HTTPException) {
      return problemResponse(c, problemDocument('badRequest', error.status, error.message || undefined));
    }
    log(`http: ${c.req.method} ${c.req.path} failed: ${error.stack ?? error.message}`);
    return problemResponse(c, problemDocument('internal', 500, 'EventDeck failed to answer this request; the error is logged.'));
  });
  return app;
}
