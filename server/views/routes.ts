/**
 * GET /api/views/:view (with filters as query parameters) and GET /api/orders/:orderId.
 * Every view answers { view, filter, version, state }: the same shape the live hub pushes.
 */
import { Hono } from 'hono';
import { ProblemError } from '../http/problem.ts';
import { readModelKeys } from '../../shared/read-models.ts';
import { readSnapshot, type ViewDefinitions, type ViewDeps } from './definitions.ts';
import { toOrder, toTimeline } from './stored-order.ts';

export function viewRoutes(deps: ViewDeps & { views: ViewDefinitions }): Hono {
  const { views } = deps;
  const app = new Hono();
  app.get('/views/:view', async (c) => {
    const name = c.req.param('view');
    const view = views[name];
    if (!view) throw new ProblemError('notFound', 404, `No view "${name}". Views: ${Object.keys(views).join(', ')}.`);
    const { asOf, ...query } = c.req.query();
    if (asOf !== undefined) {
      throw new ProblemError('notImplemented', 501, 'asOf needs the ClickHouse event store, which this deployment does not have yet.');
    }
    const parsed = view.filter.safeParse(query);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ');
      throw new ProblemError('badRequest', 400, `Invalid filter for view "${name}": ${detail}`);
    }
    return c.json(await readSnapshot(deps.redis, name, view, parsed.data));
  });
  app.get('/orders/:orderId', async (c) => {
    const orderId = c.req.param('orderId');
    const [json, steps] = await Promise.all([
      deps.redis.get(readModelKeys.order(orderId)),
      deps.redis.zRange(readModelKeys.orderTimeline(orderId), 0, -1),
    ]);
    if (!json) throw new ProblemError('notFound', 404, `No order "${orderId}" has been seen.`);
    return c.json({ order: toOrder(JSON.parse(json)), timeline: toTimeline(steps) });
  });
  return app;
}
