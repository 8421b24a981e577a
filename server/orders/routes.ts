/**
 * POST /api/orders/:orderId/compensate `{reason}`: an operator releases a stuck
 * order's reserved stock and cancels it (compensation.ts). The events go
 * through ingest's validation and append, like any producer's; the answer is
 * 202 with what was sent, once Redis holds it.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Registry } from '../../shared/registry.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import { scopeRefusal } from '../auth/guards.ts';
import { principalOf } from '../auth/principal-context.ts';
import type { Config } from '../config.ts';
import { ProblemError } from '../http/problem.ts';
import { appendEvents } from '../ingest/append-events.ts';
import { validateEvents } from '../ingest/validate-events.ts';
import type { EventValidator } from '../registry/validator.ts';
import { readOrderDetail } from '../views/stored-order.ts';
import { planCompensation } from './compensation.ts';

const request = z.strictObject({ reason: z.string().trim().min(1).max(512) });

export interface CompensationDeps {
  redis: RedisClient;
  registry: Registry;
  validator: EventValidator;
  config: Pick<Config, 'partitions' | 'ingest'>;
  now: () => number;
}

export function compensationRoutes(deps: CompensationDeps): Hono {
  const app = new Hono();
  app.post('/:orderId/compensate', async (c) => {
    const orderId = c.req.param('orderId');
    const body = request.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) throw new ProblemError('badRequest', 400, 'Send {"reason": "<why>"} as JSON: the reason goes into the events and the audit trail.');
    const detail = await readOrderDetail(deps.redis, orderId);
    if (!detail || scopeRefusal(principalOf(c), detail.order.warehouseId)) throw new ProblemError('notFound', 404, `No order "${orderId}" has been seen.`);
    const now = deps.now();
    const plan = planCompensation(detail.order, detail.timeline, { reason: body.data.reason, time: new Date(now).toISOString() });
    if (!plan.ok) throw new ProblemError('conflict', 409, plan.reason);
    const validation = validateEvents(plan.events, { registry: deps.registry, validator: deps.validator, maxFutureMs: deps.config.ingest.maxFutureMs, now });
    // The order's own data did not fit its schema (a legacy producer): nothing is sent.
    if (!validation.ok) throw new ProblemError('conflict', 409, `The compensation events would be invalid: ${validation.problems.map((p) => `${p.pointer} ${p.detail}`).join('; ')}`);
    const result = await appendEvents(deps.redis, validation.events, {
      partitions: deps.config.partitions, dedupTtlSeconds: deps.config.ingest.dedupTtlSeconds, acceptedAt: now,
    });
    return c.json({ events: validation.events.map(({ id, type }) => ({ id, type })), accepted: result.accepted, duplicates: result.duplicates }, 202);
  });
  return app;
}
