/**
 * Authentication and rights end to end over HTTP (Hono's app.request), with
 * the real error funnel, a real Redis key store, JWTs and embed tokens: every
 * bypass attempt of the security issue must fail with a problem that says why.
 */
import { Hono } from 'hono';
import { base64url, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { createHttpApp } from '../http/app.ts';
import { ApiKeyStore, withBootstrapKey } from './api-keys.ts';
import { authenticate } from './authenticate.ts';
import { createEmbedTokens } from './embed-tokens.ts';
import { assertAllowed, publishRefusal, requireRight, viewRefusal } from './guards.ts';
import { createJwtVerifier } from './jwt.ts';
import { embedTokenRoutes, keyRoutes } from './key-routes.ts';
import { principalOf } from './principal-context.ts';

const JWT_SECRET = 'jwt-secret-of-at-least-32-characters!!!';
const EMBED_SECRET = 'embed-secret-of-at-least-32-characters!!';
const BOOTSTRAP = `edk_${'b'.repeat(40)}`;

let redis: TestRedis;
let client: RedisClient;
let app: Hono;

/** Stand-ins for the routes the wiring will guard, each with the check it needs. */
function guardedRoutes(): Hono {
  const api = new Hono();
  api.get('/views/:view', (c) => {
    const { token: _token, ...filter } = c.req.query();
    assertAllowed(viewRefusal(principalOf(c), c.req.param('view'), filter));
    return c.json({ view: c.req.param('view'), filter });
  });
  api.post('/query', requireRight('sql:query'), (c) => c.json({ rows: [] }));
  api.post('/events', async (c) => {
    const { type } = await c.req.json() as { type: string };
    assertAllowed(publishRefusal(principalOf(c), type));
    return c.json({ accepted: 1 }, 202);
  });
  return api;
}

function deck(local = false): Hono {
  const keys = new ApiKeyStore(client);
  const embed = createEmbedTokens(EMBED_SECRET);
  const api = new Hono();
  api.use('*', authenticate({ local, keys: withBootstrapKey(keys, BOOTSTRAP), jwt: createJwtVerifier({ secret: JWT_SECRET }), embed }));
  api.route('/keys', keyRoutes({ keys }));
  api.route('/embed-tokens', embedTokenRoutes({ embed, views: ['inventory', 'orders'] }));
  api.route('/', guardedRoutes());
  return createHttpApp({ routes: [['/api', api]], log: () => {} });
}

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  app = deck();
});

afterEach(async () => {
  await client.flushAll();
});

afterAll(async () => {
  await client?.close();
  await redis?.stop();
});

const json = (body: unknown, headers: Record<string, string> = {}) =>
  ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const detailOf = async (res: Response) => ((await res.json()) as { detail: string }).detail;

async function makeKey(body: Record<string, unknown>): Promise<string> {
  const res = await app.request('/api/keys', json(body, bearer(BOOTSTRAP)));
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}

function userToken(claims: Record<string, unknown>, expiresIn = 300, secret = JWT_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
}

describe('without a valid credential', () => {
  it('answers 401 problem+json with a Bearer challenge when no credential is sent', async () => {
    const res = await app.request('/api/views/orders');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="eventdeck"');
    expect(await res.json()).toMatchObject({
      type: 'https://eventdeck.dev/problems/unauthorized', title: 'Authentication is required', status: 401, instance: '/api/views/orders',
    });
  });

  it('answers 401 with invalid_token for an unknown API key, in either header', async () => {
    const wrong = `edk_0123456789abcdef_${'A'.repeat(43)}`;
    for (const headers of [{ 'x-api-key': wrong }, bearer(wrong)]) {
      const res = await app.request('/api/views/orders', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="eventdeck", error="invalid_token"/);
      expect(await detailOf(res)).toBe('The API key is not valid: it is unknown, revoked, or was replaced by a rotation.');
    }
  });

  it('refuses a JWT with a wrong signature', async () => {
    const res = await app.request('/api/views/orders', { headers: bearer(await userToken({ sub: 'x', roles: ['admin'] }, 300, 'x'.repeat(40))) });
    expect(res.status).toBe(401);
    expect(await detailOf(res)).toMatch(/signature is not valid/);
  });

  it('refuses an expired JWT and says it expired', async () => {
    const res = await app.request('/api/views/orders', { headers: bearer(await userToken({ sub: 'ana', roles: ['viewer'] }, -60)) });
    expect(res.status).toBe(401);
    expect(await detailOf(res)).toMatch(/^The bearer token expired at .*; sign in again for a new one\.$/);
  });

  it('refuses an unsigned "alg: none" JWT', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none' }));
    const payload = base64url.encode(JSON.stringify({ sub: 'mallory', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 300 }));
    const res = await app.request('/api/keys', { headers: bearer(`${header}.${payload}.`) });
    expect(res.status).toBe(401);
    expect(await detailOf(res)).toMatch(/algorithm is not accepted/);
  });

  it('never reads an API key from the URL', async () => {
    const res = await app.request(`/api/views/orders?token=${BOOTSTRAP}`);
    expect(res.status).toBe(401);
    expect(await detailOf(res)).toMatch(/not valid/);
  });
});

describe('with a valid credential', () => {
  it('lets a viewer key read views and refuses it SQL with a 403 naming the right', async () => {
    const key = await makeKey({ label: 'wall screen', roles: ['viewer'] });
    expect((await app.request('/api/views/orders', { headers: { 'x-api-key': key } })).status).toBe(200);
    const res = await app.request('/api/query', json({ sql: 'SELECT 1' }, { 'x-api-key': key }));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      type: 'https://eventdeck.dev/problems/forbidden',
      detail: 'This needs the right "sql:query", which API key "wall screen" (roles: viewer) does not have.',
      right: 'sql:query',
    });
  });

  it('lets a producer publish its types and refuses any other type', async () => {
    const key = await makeKey({ label: 'shop', roles: ['producer'], eventTypes: ['order.*'] });
    expect((await app.request('/api/events', json({ type: 'order.placed' }, bearer(key)))).status).toBe(202);
    const res = await app.request('/api/events', json({ type: 'payment.refunded' }, bearer(key)));
    expect(res.status).toBe(403);
    expect(await detailOf(res)).toBe('API key "shop" may not publish events of type "payment.refunded" (it may publish: order.*).');
  });

  it('keeps a viewer scoped to one warehouse out of another', async () => {
    const token = await userToken({ sub: 'ana', name: 'Ana', roles: ['viewer'], warehouses: ['w1'] });
    expect((await app.request('/api/views/inventory?warehouseId=w1', { headers: bearer(token) })).status).toBe(200);
    const res = await app.request('/api/views/inventory?warehouseId=w2', { headers: bearer(token) });
    expect(res.status).toBe(403);
    expect(await detailOf(res)).toBe('user "Ana" is limited to warehouse w1; warehouse "w2" is outside it.');
  });

  it('lets everything through in local mode, with no credential at all', async () => {
    const local = deck(true);
    expect((await local.request('/api/query', json({ sql: 'SELECT 1' }))).status).toBe(200);
  });
});

describe('key management', () => {
  it('shows a new key once, lists keys without secrets, and is for admins only', async () => {
    const res = await app.request('/api/keys', json({ label: 'shop', roles: ['producer'], eventTypes: ['order.*'] }, bearer(BOOTSTRAP)));
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = await res.json() as { id: string; key: string };
    expect(created.key).toMatch(/^edk_/);
    const listed = await (await app.request('/api/keys', { headers: bearer(BOOTSTRAP) })).text();
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.key.slice(-43));
    const byProducer = await app.request('/api/keys', { headers: bearer(created.key) });
    expect(byProducer.status).toBe(403);
  });

  it('answers 400 for a bad body, naming the field', async () => {
    const res = await app.request('/api/keys', json({ label: 'x', roles: ['superuser'] }, bearer(BOOTSTRAP)));
    expect(res.status).toBe(400);
    expect(await detailOf(res)).toMatch(/roles\.0/);
    const producer = await app.request('/api/keys', json({ label: 'x', roles: ['producer'] }, bearer(BOOTSTRAP)));
    expect(await detailOf(producer)).toMatch(/a producer key needs the types it may publish/);
  });

  it('rotates a key (the old one gets 401) and revokes it (the new one gets 401)', async () => {
    const created = await (await app.request('/api/keys', json({ label: 'ops', roles: ['operator'] }, bearer(BOOTSTRAP)))).json() as { id: string; key: string };
    const rotated = await (await app.request(`/api/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(BOOTSTRAP) })).json() as { key: string };
    expect((await app.request('/api/views/orders', { headers: bearer(created.key) })).status).toBe(401);
    expect((await app.request('/api/views/orders', { headers: bearer(rotated.key) })).status).toBe(200);
    const revoked = await app.request(`/api/keys/${created.id}`, { method: 'DELETE', headers: bearer(BOOTSTRAP) });
    expect(await revoked.json()).toMatchObject({ id: created.id, revoked: true });
    expect((await app.request('/api/views/orders', { headers: bearer(rotated.key) })).status).toBe(401);
    const again = await app.request(`/api/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(BOOTSTRAP) });
    expect(again.status).toBe(409);
  });

  it('lets an admin scoped to a warehouse hand out only that warehouse', async () => {
    const scopedAdmin = await userToken({ sub: 'bo', roles: ['admin'], warehouses: ['w1'] });
    const wider = await app.request('/api/keys', json({ label: 'x', roles: ['viewer'] }, bearer(scopedAdmin)));
    expect(wider.status).toBe(403);
    const same = await app.request('/api/keys', json({ label: 'x', roles: ['viewer'], warehouses: ['w1'] }, bearer(scopedAdmin)));
    expect(same.status).toBe(201);
  });
});

describe('embed tokens', () => {
  async function mint(body: Record<string, unknown>): Promise<{ token: string; url: string; expiresAt: string }> {
    const res = await app.request('/api/embed-tokens', json(body, bearer(BOOTSTRAP)));
    expect(res.status).toBe(201);
    return res.json() as Promise<{ token: string; url: string; expiresAt: string }>;
  }

  it('open their one view and filter through the URL they come with', async () => {
    const { url, token } = await mint({ view: 'inventory', filter: { warehouseId: 'w1' }, origins: ['https://portal.example.com'] });
    expect(url).toBe(`/embed/inventory?warehouseId=w1&token=${token}`);
    const res = await app.request(`/api/views/inventory?warehouseId=w1&token=${token}`);
    expect(res.status).toBe(200);
  });

  it('refuse another view and another filter with a 403 that says what the token is for', async () => {
    const { token } = await mint({ view: 'inventory', filter: { warehouseId: 'w1' } });
    const otherView = await app.request(`/api/views/orders?warehouseId=w1&token=${token}`);
    expect(otherView.status).toBe(403);
    expect(await detailOf(otherView)).toBe('This embed token is for the view "inventory", not "orders".');
    const otherFilter = await app.request(`/api/views/inventory?warehouseId=w2&token=${token}`);
    expect(await detailOf(otherFilter)).toBe('This embed token is for warehouseId=w1, not warehouseId=w2.');
  });

  it('give an embed token no right but reading its view', async () => {
    const { token } = await mint({ view: 'orders' });
    const res = await app.request('/api/query', json({ sql: 'SELECT 1' }, bearer(token)));
    expect(res.status).toBe(403);
  });

  it('refuse a tampered token with 401 and a clear message', async () => {
    const { token } = await mint({ view: 'orders' });
    const tampered = `${token.slice(0, -4)}AAAA`;
    const res = await app.request(`/api/views/orders?token=${tampered}`);
    expect(res.status).toBe(401);
    expect(await detailOf(res)).toBe('The embed token is not valid: it was changed, or was not made by this EventDeck.');
  });

  it('answer 400 for an unknown view or a token that would live past 24 hours', async () => {
    const unknown = await app.request('/api/embed-tokens', json({ view: 'secrets' }, bearer(BOOTSTRAP)));
    expect(await detailOf(unknown)).toBe('No view "secrets". Views: inventory, orders.');
    const long = await app.request('/api/embed-tokens', json({ view: 'orders', ttlSeconds: 90_000 }, bearer(BOOTSTRAP)));
    expect(long.status).toBe(400);
  });
});
