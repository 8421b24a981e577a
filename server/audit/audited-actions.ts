/** The privileged actions of the HTTP API that go to the audit trail, and what each records. */
import type { Context } from 'hono';
import { bodyField, type AuditedAction } from './audited.ts';

/** The id of what a 2xx answer created (a new key), when it says. */
async function createdId(c: Context): Promise<string> {
  const body = (await c.res.clone().json().catch(() => undefined)) as { id?: unknown } | undefined;
  return c.res.ok && typeof body?.id === 'string' ? body.id : '';
}

const selector = async (c: Context) => {
  const parts = await Promise.all(['ids', 'error', 'all', 'reason'].map(async (f) => [f, await bodyField(c, f)] as const));
  return parts.filter(([, v]) => v !== undefined).map(([f, v]) => `${f}: ${v}`).join('; ');
};

export const AUDITED_ACTIONS: readonly AuditedAction[] = [
  { action: 'projection.rebuild', method: 'POST', path: '/api/projections/:name/rebuild', target: (c) => c.req.param('name') ?? '' },
  { action: 'dlq.redrive', method: 'POST', path: '/api/dlq/:queue/redrive', target: (c) => c.req.param('queue') ?? '', detail: selector },
  { action: 'dlq.discard', method: 'POST', path: '/api/dlq/:queue/discard', target: (c) => c.req.param('queue') ?? '', detail: selector },
  { action: 'alert.acknowledge', method: 'POST', path: '/api/alerts/:id/ack', target: (c) => c.req.param('id') ?? '', detail: (c) => bodyField(c, 'note') },
  { action: 'compensate', method: 'POST', path: '/api/orders/:orderId/compensate', target: (c) => c.req.param('orderId') ?? '', detail: (c) => bodyField(c, 'reason') },
  { action: 'sql.query', method: 'POST', path: '/api/query', detail: (c) => bodyField(c, 'sql') },
  { action: 'key.create', method: 'POST', path: '/api/keys', target: createdId, detail: async (c) => `${await bodyField(c, 'label')} ${await bodyField(c, 'roles')}` },
  { action: 'key.rotate', method: 'POST', path: '/api/keys/:id/rotate', target: (c) => c.req.param('id') ?? '' },
  { action: 'key.revoke', method: 'DELETE', path: '/api/keys/:id', target: (c) => c.req.param('id') ?? '' },
  {
    action: 'embed-token.mint', method: 'POST', path: '/api/embed-tokens',
    detail: async (c) => `view ${await bodyField(c, 'view')}, filter ${(await bodyField(c, 'filter')) ?? '{}'}`,
  },
];
