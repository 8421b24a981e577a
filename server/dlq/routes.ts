/**
 * The dead-letter workbench over HTTP (docs/dead-letters.md), mounted at /api/dlq:
 *
 * - GET  /                      every queue: count and groups by error
 * - GET  /actions               the action log, newest first (?limit, ?before)
 * - GET  /:queue                its dead letters, oldest first (?error, ?after, ?limit)
 * - GET  /:queue/:entryId       one, its event masked
 * - POST /:queue/redrive        {ids} | {error} | {all: true}, optional reason and by
 * - POST /:queue/discard        the same, with a required reason
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { DeadLetterSelector } from '../../shared/dead-letters.ts';
import { actorName } from '../auth/principal-context.ts';
import { ProblemError } from '../http/problem.ts';
import type { DeadLetterWorkbench } from './workbench.ts';
import { zodIssues } from '../http/zod-issues.ts';
import { jsonBody } from '../http/json-body.ts';

const ENTRY_ID = /^\d+-\d+$/;
const entryId = z.string().regex(ENTRY_ID, 'a stream entry id such as 1718000000000-0');

const selectorFields = {
  ids: z.array(entryId).min(1).max(500).optional(),
  error: z.string().min(1).optional(),
  all: z.literal(true).optional(),
  /** Who does it (until the security issue takes it from the caller's identity). */
  by: z.string().trim().min(1).max(200).optional(),
};
const redriveBody = z.strictObject({ ...selectorFields, reason: z.string().trim().max(2000).optional() });
const discardBody = z.strictObject({ ...selectorFields, reason: z.string().trim().max(2000).optional() });

const pageQuery = z.strictObject({
  error: z.string().min(1).optional(),
  after: entryId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const actionsQuery = z.strictObject({
  before: entryId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Exactly one of ids, error and all. */
function selectorOf(body: { ids?: string[]; error?: string; all?: true }): DeadLetterSelector {
  const given = [body.ids && 'ids', body.error !== undefined && 'error', body.all && 'all'].filter(Boolean);
  if (given.length !== 1) {
    throw new ProblemError('badRequest', 400, `Say which dead letters with exactly one of "ids", "error" and "all": true${given.length ? ` (got ${given.join(', ')})` : ''}.`);
  }
  if (body.ids) return { ids: [...new Set(body.ids)] };
  if (body.error !== undefined) return { error: body.error };
  return { all: true };
}

export function deadLetterRoutes(workbench: DeadLetterWorkbench): Hono {
  const app = new Hono();
  app.get('/', async (c) => c.json(await workbench.overview()));

  app.get('/actions', async (c) => {
    const query = actionsQuery.safeParse(c.req.query());
    if (!query.success) throw new ProblemError('badRequest', 400, `Invalid query: ${zodIssues(query.error, 'body')}`);
    return c.json(await workbench.actions.list(query.data));
  });

  app.get('/:queue', async (c) => {
    const query = pageQuery.safeParse(c.req.query());
    if (!query.success) throw new ProblemError('badRequest', 400, `Invalid query: ${zodIssues(query.error, 'body')}`);
    return c.json(await workbench.page(c.req.param('queue'), query.data));
  });

  app.get('/:queue/:entryId', async (c) => {
    const id = c.req.param('entryId');
    if (!ENTRY_ID.test(id)) throw new ProblemError('notFound', 404, `No dead letter ${id}: ids look like 1718000000000-0.`);
    return c.json(await workbench.entry(c.req.param('queue'), id));
  });

  app.post('/:queue/redrive', async (c) => {
    const body = await jsonBody(c, redriveBody,
      'Send {"ids": [...]}, {"error": "<error text>"} or {"all": true} as JSON, with an optional "reason" and "by"');
    const { reason } = body;
    const by = actorName(c, body.by);
    return c.json(await workbench.redrive(c.req.param('queue'), { selector: selectorOf(body), ...(reason ? { reason } : {}), ...(by ? { by } : {}) }));
  });

  app.post('/:queue/discard', async (c) => {
    const body = await jsonBody(c, discardBody,
      'Send {"ids": [...]}, {"error": "<error text>"} or {"all": true} as JSON, with a "reason" (required) and an optional "by"');
    const { reason } = body;
    const by = actorName(c, body.by);
    if (!reason) throw new ProblemError('badRequest', 400, 'A discard needs a "reason": say why these dead letters are given up. It is kept in the action log.');
    return c.json(await workbench.discard(c.req.param('queue'), { selector: selectorOf(body), reason, ...(by ? { by } : {}) }));
  });
  return app;
}
