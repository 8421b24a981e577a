/**
 * Security of a real EventDeck (every role, embedded chDB) with authentication
 * on: a bootstrap admin key, people's JWTs (HS256) and embed tokens. Every
 * bypass attempt of the security issue is tried over HTTP and must fail with a
 * problem document that says why, and change nothing; privileged actions land
 * in the audit trail (ClickHouse `audit_log`), refusals included.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { base64url, SignJWT } from 'jose';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { AuditPage } from '../shared/audit.ts';
import { MASKED } from '../shared/cloudevent.ts';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/live.ts';
import type { OrdersState, ViewName } from '../shared/views.ts';
import { streamKeys } from '../shared/streams.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, jsonOf, startTestDeck } from './support/eventdeck.ts';
import { inventoryReceived, orderPlaced } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const JWT_SECRET = 'people-jwt-secret-of-at-least-32-chars!';
const EMBED_SECRET = 'embed-token-secret-of-at-least-32-chars';
const ADMIN = `edk_${'a'.repeat(40)}`;
const PORTAL = 'https://portal.example.com';

let redis: TestRedis;
let client: RedisClient;
let deck: RunningEventDeck;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  deck = await startTestDeck({
    redisUrl: redis.url,
    env: {
      EVENTDECK_AUTH_JWT_SECRET: JWT_SECRET, EVENTDECK_EMBED_SECRET: EMBED_SECRET, EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
      EVENTDECK_PARTITIONS: '4', EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '100',
    },
  });
  // Stock in two warehouses and an order in each, published by the admin.
  const seed = [
    inventoryReceived({ warehouseId: 'w1', sku: 'mug', qty: 5 }, { id: 'sec-rcv-1', source: '/wms' }),
    inventoryReceived({ warehouseId: 'w2', sku: 'mug', qty: 7 }, { id: 'sec-rcv-2', source: '/wms' }),
    orderPlaced({ orderId: 'o-w1', warehouseId: 'w1', customerId: 'cust-secret-1' }, { id: 'sec-placed-1', source: '/shop' }),
    orderPlaced({ orderId: 'o-w2', warehouseId: 'w2', customerId: 'cust-secret-2' }, { id: 'sec-placed-2', source: '/shop' }),
  ];
  expect((await call('/api/events', { key: ADMIN, body: seed, contentType: 'application/cloudevents-batch+json' })).status).toBe(202);
  await eventually(() => projectionsCaughtUp(redis.url, 4), Boolean);
}, 60_000);

afterAll(async () => {
  await deck?.stop();
  await client?.close();
  await redis?.stop();
});

interface Call { key?: string; token?: string; method?: string; body?: unknown; contentType?: string }

async function call(path: string, { key, token, method, body, contentType = 'application/json' }: Call = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (key) headers['x-api-key'] = key;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  return fetch(`${deck.url}${path}`, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function problem(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  const body = await jsonOf(response);
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+/); // no stack traces
  return body.detail as string;
}

async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const response = await call('/api/keys', { key: ADMIN, body });
  expect(response.status).toBe(201);
  return jsonOf(response);
}

function person(claims: Record<string, unknown>, { secret = JWT_SECRET, expiresIn = '10m' } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(String(claims.sub ?? 'someone')).setIssuedAt()
    .setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

const streamLengths = async () => Promise.all(streamKeys(4).map((key) => client.xLen(key)));

describe('authentication', () => {
  it('refuses a request without a credential with 401 and a Bearer challenge, and keeps health checks open', async () => {
    const response = await call('/api/views/inventory');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="eventdeck"/);
    expect(await problem(response, 401)).toMatch(/Authentication is required/);
    expect((await fetch(`${deck.url}/healthz`)).status).toBe(200);
  });

  it('refuses a JWT with a wrong signature, an expired one, and one with alg "none"', async () => {
    const wrong = await person({ sub: 'mallory', roles: ['admin'] }, { secret: 'another-secret-of-at-least-32-characters' });
    expect(await problem(await call('/api/views/inventory', { token: wrong }), 401)).toMatch(/signature/i);
    const expired = await person({ sub: 'late', roles: ['viewer'] }, { expiresIn: '-1m' });
    expect(await problem(await call('/api/views/inventory', { token: expired }), 401)).toMatch(/expired/i);
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ sub: 'eve', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 600 }))}.`;
    expect((await call('/api/views/inventory', { token: none })).status).toBe(401);
  });

  it('refuses an unknown API key and a revoked one', async () => {
    expect((await call('/api/views/inventory', { key: `edk_${'0'.repeat(16)}_${'x'.repeat(43)}` })).status).toBe(401);
    const viewer = await newKey({ label: 'to revoke', roles: ['viewer'] });
    expect((await call('/api/views/inventory', { key: viewer.key })).status).toBe(200);
    expect((await call(`/api/keys/${viewer.id}`, { key: ADMIN, method: 'DELETE' })).status).toBe(200);
    expect(await problem(await call('/api/views/inventory', { key: viewer.key }), 401)).toMatch(/revoked/);
  });
});

describe('rights per event type and role', () => {
  it('lets a producer publish only the types its key allows (403, nothing appended, for a batch with any other)', async () => {
    const producer = await newKey({ label: 'wms producer', roles: ['producer'], eventTypes: ['inventory.*'] });
    const allowed = inventoryReceived({ warehouseId: 'w1', sku: 'cup', qty: 1 }, { id: 'sec-prod-1', source: '/wms' });
    expect((await call('/api/events', { key: producer.key, body: allowed, contentType: 'application/cloudevents+json' })).status).toBe(202);
    const before = await streamLengths();
    const other = orderPlaced({ orderId: 'o-forged' }, { id: 'sec-prod-2', source: '/wms' });
    const stock = inventoryReceived({ warehouseId: 'w1', sku: 'cup', qty: 2 }, { id: 'sec-prod-3', source: '/wms' });
    expect(await problem(await call('/api/events', { key: producer.key, body: [stock, other], contentType: 'application/cloudevents-batch+json' }), 403))
      .toMatch(/Event 1: .*may not publish events of type "order\.placed" \(it may publish: inventory\.\*\)/);
    expect(await streamLengths()).toEqual(before);
    // A producer reads no views.
    expect(await problem(await call('/api/views/inventory?warehouseId=w1', { key: producer.key }), 403)).toMatch(/views:read/);
  });

  it('keeps a viewer scoped to one warehouse to that warehouse, over REST', async () => {
    const viewer = await newKey({ label: 'w1 screen', roles: ['viewer'], warehouses: ['w1'] });
    const own = await jsonOf(await call('/api/views/inventory?warehouseId=w1', { key: viewer.key }));
    expect(own.state.rows.map((r: { warehouseId: string }) => r.warehouseId)).toEqual(['w1', 'w1']);
    expect(await problem(await call('/api/views/inventory?warehouseId=w2', { key: viewer.key }), 403)).toMatch(/warehouse "w2" is outside it/);
    expect((await call('/api/views/inventory', { key: viewer.key })).status).toBe(403);
    expect((await call('/api/views/overview', { key: viewer.key })).status).toBe(403);
    expect((await call('/api/orders/o-w2', { key: viewer.key })).status).toBe(404);
    const order = await jsonOf(await call('/api/orders/o-w1', { key: viewer.key }));
    expect(order.order.customerId).toBe(MASKED);
    expect(JSON.stringify(order)).not.toContain('cust-secret-1');
  });

  it('refuses SQL to a viewer, and masks personal data for readers without pii:read', async () => {
    const viewer = await person({ sub: 'vic', roles: ['viewer'] });
    expect(await problem(await call('/api/query', { token: viewer, body: { sql: 'SELECT 1' } }), 403)).toMatch(/sql:query/);
    const analyst = await person({ sub: 'ana', roles: ['analyst'] });
    expect((await call('/api/query', { token: analyst, body: { sql: 'SELECT 1 AS one' } })).status).toBe(200);
    const orders = await jsonOf(await call('/api/views/orders', { token: analyst }));
    expect(orders.state.orders.map((o: { customerId: string }) => o.customerId)).toEqual([MASKED, MASKED]);
    const withRight = await person({ sub: 'dpo', roles: ['viewer'], rights: ['pii:read'] });
    const unmasked = await jsonOf(await call('/api/views/orders', { token: withRight }));
    expect(unmasked.state.orders.map((o: { customerId: string }) => o.customerId).sort()).toEqual(['cust-secret-1', 'cust-secret-2']);
  });

  it('lets only operators acknowledge alerts and re-drive dead letters, and only admins rebuild and manage keys', async () => {
    const viewer = await person({ sub: 'vic', roles: ['viewer'] });
    expect(await problem(await call('/api/alerts/a-1/ack', { token: viewer, body: { note: 'x' } }), 403)).toMatch(/alerts:ack/);
    expect(await problem(await call('/api/dlq/orders/redrive', { token: viewer, body: { all: true } }), 403)).toMatch(/dlq:write/);
    expect(await problem(await call('/api/orders/o-w1/compensate', { token: viewer, body: { reason: 'x' } }), 403)).toMatch(/"compensate"/);
    const operator = await person({ sub: 'olga', roles: ['operator'] });
    expect((await call('/api/alerts/a-none/ack', { token: operator, body: { note: 'x' } })).status).toBe(404);
    expect(await problem(await call('/api/projections/inventory/rebuild', { token: operator, body: {} }), 403)).toMatch(/"rebuild"/);
    expect(await problem(await call('/api/keys', { token: operator, body: { label: 'x', roles: ['admin'] } }), 403)).toMatch(/keys:manage/);
  });
});

describe('live views', () => {
  async function subscribe(token: string, view: ViewName, filter: Record<string, string> = {}): Promise<SubscribeAck> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(`${deck.url}/live`, { transports: ['websocket'], auth: { token }, reconnection: false });
    try {
      return await new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', { view, filter }, resolve));
    } finally {
      socket.close();
    }
  }

  it('checks rights and scope on subscribe, and masks personal data for readers without pii:read', async () => {
    const scoped = await newKey({ label: 'w1 wall screen', roles: ['viewer'], warehouses: ['w1'] });
    expect(await subscribe(scoped.key, 'inventory', { warehouseId: 'w1' })).toMatchObject({ ok: true, view: 'inventory' });
    expect(await subscribe(scoped.key, 'inventory', { warehouseId: 'w2' })).toEqual({ ok: false, error: expect.stringMatching(/warehouse "w2" is outside it/) });
    const masked = await subscribe(await person({ sub: 'ana', roles: ['analyst'] }), 'orders');
    const unmasked = await subscribe(await person({ sub: 'dpo', roles: ['viewer'], rights: ['pii:read'] }), 'orders');
    const customers = (ack: SubscribeAck) => (ack.ok ? (ack.state as OrdersState).orders.map((o) => o.customerId).sort() : ack.error);
    expect(customers(masked)).toEqual([MASKED, MASKED]);
    expect(customers(unmasked)).toEqual(['cust-secret-1', 'cust-secret-2']);
  });
});

describe('embed tokens', () => {
  async function mint(view: string, filter: Record<string, string>, ttlSeconds = 600): Promise<{ token: string; url: string }> {
    const response = await call('/api/embed-tokens', { key: ADMIN, body: { view, filter, ttlSeconds, origins: [PORTAL] } });
    expect(response.status).toBe(201);
    return jsonOf(response);
  }

  it('opens exactly its view and filter, and nothing else', async () => {
    const { token } = await mint('inventory', { warehouseId: 'w1' });
    const own = await fetch(`${deck.url}/api/views/inventory?warehouseId=w1&token=${token}`);
    expect(own.status).toBe(200);
    expect(await problem(await fetch(`${deck.url}/api/views/inventory?warehouseId=w2&token=${token}`), 403)).toMatch(/not warehouseId=w2/);
    expect(await problem(await fetch(`${deck.url}/api/views/orders?warehouseId=w1&token=${token}`), 403)).toMatch(/for the view "inventory"/);
    expect((await fetch(`${deck.url}/api/orders/o-w1?token=${token}`)).status).toBe(403);
    const tampered = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect((await fetch(`${deck.url}/api/views/inventory?warehouseId=w1&token=${tampered}`)).status).toBe(401);
  });

  it('lets only the allowed origins frame the widget page, and no one frame the app', async () => {
    const { url } = await mint('inventory', { warehouseId: 'w1' });
    const page = await fetch(`${deck.url}${url}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(new RegExp(`frame-ancestors ${PORTAL}$`));
    const forged = await fetch(`${deck.url}/embed/inventory?warehouseId=w1&token=forged`);
    expect(forged.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'$/);
    const app = await fetch(`${deck.url}/`);
    expect(app.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(app.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('stops working once expired', async () => {
    const { token } = await mint('inventory', { warehouseId: 'w1' }, 1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await problem(await fetch(`${deck.url}/api/views/inventory?warehouseId=w1&token=${token}`), 401)).toMatch(/expired/i);
  });
});

describe('the audit trail', () => {
  it('records privileged actions with who, what and the outcome, refusals included, for admins only', async () => {
    const analyst = await person({ sub: 'audited-analyst', roles: ['analyst'] });
    expect((await call('/api/query', { token: analyst, body: { sql: 'SELECT 42 AS answer' } })).status).toBe(200);
    const viewer = await person({ sub: 'audited-viewer', roles: ['viewer'] });
    expect((await call('/api/query', { token: viewer, body: { sql: 'SELECT 43' } })).status).toBe(403);
    const made = await newKey({ label: 'audited key', roles: ['viewer'] });
    const operator = await person({ sub: 'audited-operator', roles: ['operator'] });
    expect((await call('/api/orders/o-w2/compensate', { token: operator, body: { reason: 'stuck for days' } })).status).toBe(202);

    const page = await eventually(
      async () => (await jsonOf(await call('/api/audit?limit=500', { key: ADMIN }))) as AuditPage,
      (p) => ['audited-analyst', 'audited-viewer', 'audited-operator'].every((actor) => p.entries?.some((e) => e.actor === actor))
        && p.entries.some((e) => e.action === 'key.create' && e.target === made.id),
      30_000,
    );
    expect(page.entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'audited-analyst', actorKind: 'user', action: 'sql.query', outcome: 'ok', detail: 'SELECT 42 AS answer' }),
      expect.objectContaining({ actor: 'audited-viewer', action: 'sql.query', outcome: 'denied', detail: expect.stringMatching(/SELECT 43 — 403: .*sql:query/) }),
      expect.objectContaining({ actor: 'bootstrap', actorKind: 'key', action: 'key.create', target: made.id, outcome: 'ok' }),
      expect.objectContaining({ actor: 'audited-operator', action: 'compensate', target: 'o-w2', outcome: 'ok', detail: 'stuck for days' }),
    ]));
    // Newest first.
    const ids = page.entries.map((e) => e.id.split('-').map(Number) as [number, number]);
    expect(ids).toEqual([...ids].sort((a, b) => b[0] - a[0] || b[1] - a[1]));
    expect(await problem(await call('/api/audit', { token: analyst }), 403)).toMatch(/audit:read/);
    // Nothing edits it: the API has no way to.
    expect((await call('/api/audit', { key: ADMIN, method: 'DELETE' })).status).toBe(404);
  });
});

describe('transport and limits', () => {
  it('answers 429 with Retry-After once a caller used its requests of the minute, counting each caller alone', async () => {
    const small = await startTestDeck({
      redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api', EVENTDECK_PARTITIONS: '4', EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN, EVENTDECK_RATE_LIMIT_PER_MINUTE: '3', EVENTDECK_AUTH_JWT_SECRET: JWT_SECRET },
    });
    try {
      const token = await person({ sub: 'busy', roles: ['viewer'] });
      const get = (t: string) => fetch(`${small.url}/api/views/inventory?warehouseId=w1`, { headers: { authorization: `Bearer ${t}` } });
      expect([(await get(token)).status, (await get(token)).status, (await get(token)).status]).toEqual([200, 200, 200]);
      const limited = await get(token);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await problem(limited, 429)).toMatch(/more than 3 requests in 60 s/);
      expect((await get(await person({ sub: 'calm', roles: ['viewer'] }))).status).toBe(200);
    } finally {
      await small.stop();
    }
  });

  it('serves HTTPS with the configured certificate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    expect(made.status, 'openssl makes a self-signed certificate').toBe(0);
    const secure = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api', EVENTDECK_TLS_CERT_FILE: cert, EVENTDECK_TLS_KEY_FILE: key } });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const answer = await new Promise<{ status: number; body: string; hsts: string | undefined }>((resolve, reject) => {
        https.get(`${secure.url}/healthz`, { ca: readFileSync(cert) }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body, hsts: res.headers['strict-transport-security'] as string | undefined }));
        }).on('error', reject);
      });
      expect(answer).toEqual({ status: 200, body: '{"status":"ok"}', hsts: expect.stringMatching(/max-age=/) });
    } finally {
      await secure.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

