/**
 * GET /api/views/:view (with filters as query parameters) and GET /api/orders/:orderId.
 * Every view answers { view, filter, version, state }: the same shape the live hub pushes.
 */
import { Hono } from 'hono';
import type { z } from 'zod';
import type { RedisClient } from '../../platform/redis/client.ts';
import { readModelKeys } from '../../shared/read-models.ts';
import type { Config } from '../config.ts';
import { ProblemError } from '../http/problem.ts';
import { fulfilmentFilter, readFulfilment } from './fulfilment-view.ts';
import { inventoryFilter, readInventory } from './inventory-view.ts';
import { ordersFilter, readOrders } from './orders-view.ts';
import { overviewFilter, readOverview } from './overview-view.ts';
import { toOrder, toTimeline } from './stored-order.ts';

export interface ViewDeps {
  redis: RedisClient;
  config: Pick<Config, 'inventory' | 'stageLimitsMs'>;
  now: () => number;
}

interface ViewDefinition {
  filter: z.ZodType<Record<string, unknown>>;
  read(filter: Record<string, unknown>): Promise<unknown>;
}

export function viewDefinitions({ redis, config, now }: ViewDeps): Record<string, ViewDefinition> {
  return {
    overview: { filter: overviewFilter, read: () => readOverview(redis, { now: now(), levels: config.inventory, limits: config.stageLimitsMs }) },
    orders: { filter: ordersFilter, read: (f) => readOrders(redis, f as z.infer<typeof ordersFilter>) },
    inventory: { filter: inventoryFilter, read: (f) => readInventory(redis, f as z.infer<typeof inventoryFilter>, config.inventory) },
    fulfilment: {
      filter: fulfilmentFilter,
      read: (f) => readFulfilment(redis, f as z.infer<typeof fulfilmentFilter>, config.stageLimitsMs, now()),
    },
  };
}

export function viewRoutes(deps: ViewDeps): Hono {
  const views = viewDefinitions(deps);
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
    // The version is read first: the state that follows is at least that new.
    const version = Number((await deps.redis.get(readModelKeys.viewVersion(name))) ?? 0);
    const state = await view.read(parsed.data);
    return c.json({ view: name, filter: parsed.data, version, state });
  });
  app.get('/orders/:orderId', async (c) => {
    const orderId = c.req.param('orderId');
    const json = await deps.redis.get(readModelKeys.order(orderId));
    if (!json) throw new ProblemError('notFound', 404, `No order "${orderId}" has been seen.`);
    const stored = JSON.parse(json);
    return c.json({ order: toOrder(stored), timeline: toTimeline(stored) });
  });
  return app;
}
