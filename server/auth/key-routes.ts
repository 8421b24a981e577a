/**
 * Admin routes for credentials: `/api/keys` (create, list, rotate, revoke API
 * keys) and `/api/embed-tokens` (mint an embed token). Both need `keys:manage`
 * and run after authenticate().
 *
 * A secret is shown once, in the answer that creates it; responses carrying one
 * say `Cache-Control: no-store`. A caller limited to some warehouses cannot hand
 * out more than its own scope.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ProblemError } from '../http/problem.ts';
import type { ApiKeyStore } from './api-keys.ts';
import { EmbedMintError, EMBED_TTL_MAX_S, type EmbedTokens } from './embed-tokens.ts';
import { assertAllowed, requireRight, scopeRefusal } from './guards.ts';
import { principalOf } from './principal-context.ts';
import { canonicalFilter, describePrincipal, ROLE_NAMES, type Principal } from './principal.ts';
import { jsonBody } from '../http/json-body.ts';

const typePattern = z.string().regex(/^(\*|[a-z0-9][a-z0-9._-]*(\.\*)?)$/, 'a type or pattern such as "order.placed", "order.*" or "*"');

const newKey = z.strictObject({
  label: z.string().trim().min(1).max(200),
  roles: z.array(z.enum(ROLE_NAMES)).min(1),
  eventTypes: z.array(typePattern).optional(),
  warehouses: z.array(z.string().min(1).max(200)).min(1).optional(),
}).refine((k) => !k.roles.includes('producer') || k.eventTypes !== undefined, {
  path: ['eventTypes'],
  message: 'a producer key needs the types it may publish, e.g. ["order.*"] (or ["*"] for all)',
});

const embedRequest = z.strictObject({
  view: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a view name such as "inventory"'),
  filter: z.record(z.string(), z.string()).default({}),
  ttlSeconds: z.number().int().min(1).max(EMBED_TTL_MAX_S).optional(),
  origins: z.array(z.string()).max(20).default([]),
});

/** A body as JSON, or a 400 showing an example of it. */
const bodyOf = <T>(c: Context, schema: z.ZodType<T>, example: string): Promise<T> => jsonBody(c, schema, `Send ${example} as JSON`);

/** A scoped caller may only hand out warehouses of its own scope. */
function assertWithinScope(caller: Principal, warehouses: readonly string[] | undefined): void {
  if (caller.warehouses === undefined) return;
  if (warehouses === undefined) assertAllowed(scopeRefusal(caller, undefined));
  for (const w of warehouses ?? []) assertAllowed(scopeRefusal(caller, w));
}

/** Mounted at /api/keys. `retired`: told of a key whose secret stopped working (rotated, revoked), to end its live connections. */
export function keyRoutes(deps: { keys: ApiKeyStore; retired?: (id: string) => void }): Hono {
  const app = new Hono();
  app.use('*', requireRight('keys:manage'));
  app.post('/', async (c) => {
    const input = await bodyOf(c, newKey, '{"label": "...", "roles": ["producer"], "eventTypes": ["order.*"], "warehouses": ["w1"]}');
    assertWithinScope(principalOf(c), input.warehouses);
    const { key, info } = await deps.keys.create(input);
    c.header('Cache-Control', 'no-store');
    c.header('Location', `/api/keys/${info.id}`);
    return c.json({ ...info, key }, 201);
  });
  app.get('/', async (c) => c.json({ keys: await deps.keys.list() }));
  app.get('/:id', async (c) => {
    const info = await deps.keys.get(c.req.param('id'));
    if (!info) throw new ProblemError('notFound', 404, `No API key "${c.req.param('id')}".`);
    return c.json(info);
  });
  app.post('/:id/rotate', async (c) => {
    const id = c.req.param('id');
    const info = await deps.keys.get(id);
    if (info) assertWithinScope(principalOf(c), info.warehouses);
    const result = await deps.keys.rotate(id);
    if (result.outcome === 'not-found') throw new ProblemError('notFound', 404, `No API key "${id}".`);
    if (result.outcome === 'revoked') throw new ProblemError('conflict', 409, `API key "${id}" is revoked: create a new key instead.`);
    deps.retired?.(id);
    c.header('Cache-Control', 'no-store');
    return c.json({ ...result.info, key: result.key });
  });
  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    const existing = await deps.keys.get(id);
    if (existing) assertWithinScope(principalOf(c), existing.warehouses);
    const info = existing && (await deps.keys.revoke(id));
    if (!info) throw new ProblemError('notFound', 404, `No API key "${id}".`);
    deps.retired?.(id);
    return c.json(info);
  });
  return app;
}

/** Mounted at /api/embed-tokens. `views`: the view names that exist (others are refused). */
export function embedTokenRoutes(deps: { embed?: EmbedTokens; views?: readonly string[] }): Hono {
  const app = new Hono();
  app.use('*', requireRight('keys:manage'));
  app.post('/', async (c) => {
    if (!deps.embed) {
      throw new ProblemError('notImplemented', 501, 'Embed tokens need a signing secret: set EVENTDECK_EMBED_SECRET (the same on every process).');
    }
    const input = await bodyOf(c, embedRequest, '{"view": "inventory", "filter": {"warehouseId": "w1"}, "ttlSeconds": 900, "origins": ["https://portal.example.com"]}');
    if (deps.views && !deps.views.includes(input.view)) {
      throw new ProblemError('badRequest', 400, `No view "${input.view}". Views: ${deps.views.join(', ')}.`);
    }
    const caller = principalOf(c);
    if (caller.warehouses !== undefined) assertAllowed(scopeRefusal(caller, input.filter.warehouseId));
    let minted;
    try {
      minted = await deps.embed.mint(input.view, input.filter, {
        origins: input.origins,
        mintedBy: `${caller.kind}:${caller.id}`,
        ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}),
      });
    } catch (error) {
      if (error instanceof EmbedMintError) throw new ProblemError('badRequest', 400, error.message);
      throw error;
    }
    const query = canonicalFilter(input.filter);
    const url = `/embed/${input.view}?${query ? `${query}&` : ''}${new URLSearchParams({ token: minted.token })}`;
    c.header('Cache-Control', 'no-store');
    return c.json({ ...minted, url, mintedBy: describePrincipal(caller) }, 201);
  });
  return app;
}
