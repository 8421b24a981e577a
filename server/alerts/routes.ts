/**
 * GET /api/alerts (filters: state, rule) and POST /api/alerts/:id/ack
 * ({by, note}): the alerts as the alerts view shows them, and acknowledging one.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { RedisClient } from '../../platform/redis/client.ts';
import { ProblemError } from '../http/problem.ts';
import { actorName } from '../auth/principal-context.ts';
import { AlertStore } from './alert-store.ts';
import { alertsFilter, readAlerts } from './alerts-view.ts';
import { zodIssues } from '../http/zod-issues.ts';
import { jsonBody } from '../http/json-body.ts';

const acknowledgement = z.strictObject({
  /** Who acknowledges, in local mode only: otherwise the caller (an API key's label, a user's name) is who. */
  by: z.string().trim().min(1).max(200).optional(),
  note: z.string().max(2000).default(''),
});

export function alertRoutes(deps: { redis: RedisClient; now: () => number }): Hono {
  const store = new AlertStore(deps.redis);
  const app = new Hono();
  app.get('/', async (c) => {
    const filter = alertsFilter.safeParse(c.req.query());
    if (!filter.success) throw new ProblemError('badRequest', 400, `Invalid alert filter: ${zodIssues(filter.error, 'body')}`);
    return c.json(await readAlerts(deps.redis, filter.data));
  });
  app.post('/:id/ack', async (c) => {
    const id = c.req.param('id');
    const body = await jsonBody(c, acknowledgement, 'Send {"by": "<who>", "note": "<why>"} as JSON');
    const by = actorName(c, body.by);
    if (!by) throw new ProblemError('badRequest', 400, 'Say who acknowledges: send {"by": "<who>", "note": "<why>"} as JSON (in local mode nobody is signed in).');
    const result = await store.acknowledge(id, by, body.note, deps.now());
    if (result.outcome === 'not-found') throw new ProblemError('notFound', 404, `No alert "${id}".`);
    if (result.outcome === 'not-firing') {
      throw new ProblemError('conflict', 409, `Alert "${id}" is ${result.alert.state}: only a firing alert can be acknowledged.`, { alert: result.alert });
    }
    return c.json(result.alert);
  });
  return app;
}
