/**
 * Rights on live views (DESIGN.md section 7): the `/live` handshake needs a
 * credential, every subscribe checks the caller's rights and that its credential
 * is still good, and a reconnection is checked like a first connection. Real
 * hub, real Socket.IO clients, real Redis for the key store.
 */
import { base64url, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { ApiKeyStore } from '../auth/api-keys.ts';
import { identifyToken, type AuthenticateOptions } from '../auth/authenticate.ts';
import { createEmbedTokens } from '../auth/embed-tokens.ts';
import { createJwtVerifier } from '../auth/jwt.ts';
import { LOCAL_PRINCIPAL, type RoleName } from '../auth/principal.ts';
import {
  changeStock, connected, disconnected, liveClient, refusalOf, startTestHub, subscribe, type LiveClient, type TestHub,
} from './hub-fixtures.ts';

const JWT_SECRET = 'jwt-secret-of-at-least-32-characters!!!';
const EMBED_SECRET = 'embed-secret-of-at-least-32-characters!!';
const UNAUTHORIZED = { status: 401, type: 'https://eventdeck.dev/problems/unauthorized' };

let redis: TestRedis;
let client: RedisClient;
let keys: ApiKeyStore;
let deck: TestHub;
const embed = createEmbedTokens(EMBED_SECRET);
/** The hub's clock runs this far ahead of the real one (a test moves it past an expiry or a re-check). */
const clock = { ahead: 0 };
let authentications = 0;
const clients: LiveClient[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  keys = new ApiKeyStore(client);
  const auth: AuthenticateOptions = { local: false, keys, jwt: createJwtVerifier({ secret: JWT_SECRET }), embed };
  deck = await startTestHub(redis.url, {
    authenticate: (token) => {
      authentications++;
      return identifyToken(auth, token);
    },
    now: () => Date.now() + clock.ahead,
    maxMessageBytes: 4096,
  });
});

afterEach(() => {
  clock.ahead = 0;
  for (const socket of clients.splice(0)) socket.close();
});

afterAll(async () => {
  await deck?.stop();
  await client?.close();
  await redis?.stop();
});

function open(token?: string, options: Parameters<typeof liveClient>[2] = {}): LiveClient {
  const socket = liveClient(deck.url, token, options);
  clients.push(socket);
  return socket;
}

async function openConnected(token?: string, options: Parameters<typeof liveClient>[2] = {}): Promise<LiveClient> {
  const socket = open(token, options);
  await connected(socket);
  return socket;
}

async function makeKey(roles: RoleName[], warehouses?: string[]): Promise<{ id: string; key: string }> {
  const issued = await keys.create({ label: `${roles.join('+')} key`, roles, ...(warehouses ? { warehouses } : {}) });
  return { id: issued.info.id, key: issued.key };
}

function userToken(claims: Record<string, unknown>, expiresIn = 300, secret = JWT_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
}

describe('connecting to /live', () => {
  it('refuses a client without a token, with a 401 it reads in connect_error', async () => {
    const refusal = await refusalOf(open());
    expect(refusal.message).toMatch(/^Authentication is required\./);
    expect(refusal.data).toEqual(UNAUTHORIZED);
  });

  it('refuses a wrong signature, an expired JWT, an "alg: none" JWT and an unknown API key, saying why', async () => {
    const none = `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${base64url.encode(JSON.stringify({
      sub: 'mallory', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 300,
    }))}.`;
    const cases: Array<[string, RegExp]> = [
      [await userToken({ sub: 'x', roles: ['admin'] }, 300, 'x'.repeat(40)), /signature is not valid/],
      [await userToken({ sub: 'ana', roles: ['viewer'] }, -60), /^The bearer token expired at /],
      [none, /algorithm is not accepted/],
      [`edk_0123456789abcdef_${'A'.repeat(43)}`, /^The API key is not valid/],
    ];
    for (const [token, message] of cases) {
      const refusal = await refusalOf(open(token));
      expect(refusal.message).toMatch(message);
      expect(refusal.data).toEqual(UNAUTHORIZED);
    }
    expect(deck.hub.clientCount).toBe(0);
  });

  it('refuses a client that offers a session to recover instead of a credential', async () => {
    // What a client sends to resume a session; recovery is off, so it stands for nothing.
    const refusal = await refusalOf(open(undefined, { auth: { pid: 'a-session-id', offset: 'an-offset' } }));
    expect(refusal.data).toEqual(UNAUTHORIZED);
  });

  it('serves nothing on the main namespace', async () => {
    const { io } = await import('socket.io-client');
    const main = io(deck.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      expect((await refusalOf(main)).message).toBe('connect to the /live namespace');
    } finally {
      main.close();
    }
  });

  it('lets a valid key in and answers its subscriptions', async () => {
    const { key } = await makeKey(['viewer']);
    const socket = await openConnected(key);
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toMatchObject({ ok: true, view: 'orders' });
  });

  it('lets anyone in when the hub runs in local mode, with no token at all', async () => {
    const local = await startTestHub(redis.url, { authenticate: async () => LOCAL_PRINCIPAL });
    const socket = liveClient(local.url);
    try {
      await connected(socket);
      expect(await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w9' } })).toMatchObject({ ok: true });
    } finally {
      socket.close();
      await local.stop();
    }
  });
});

describe('subscribing', () => {
  it('keeps a viewer scoped to one warehouse out of another, and out of the unfiltered view', async () => {
    const socket = await openConnected(await userToken({ sub: 'ana', name: 'Ana', roles: ['viewer'], warehouses: ['w1'] }));
    expect(await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w1' } })).toMatchObject({ ok: true });
    expect(await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w2' } })).toEqual({
      ok: false, error: 'user "Ana" is limited to warehouse w1; warehouse "w2" is outside it.',
    });
    expect(await subscribe(socket, { view: 'inventory', filter: {} })).toEqual({
      ok: false, error: 'user "Ana" is limited to warehouse w1: name one of them.',
    });
    // Refused subscriptions get nothing: a change of w2 reaches no one.
    await changeStock(client, 'w2', 5);
    await changeStock(client, 'w1', 3);
    await expect.poll(() => socket.updates.at(-1)?.state).toEqual({ stock: 3 });
    expect(socket.updates.every((u) => u.filter.warehouseId === 'w1')).toBe(true);
  });

  it('refuses a caller without the right to read views', async () => {
    const { key } = await makeKey(['producer']);
    const socket = await openConnected(key);
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toEqual({
      ok: false, error: expect.stringContaining('This needs the right "views:read"'),
    });
  });

  it('lets an embed token open its one view and filter, and no other', async () => {
    const { token } = await embed.mint('inventory', { warehouseId: 'w1' });
    const socket = await openConnected(token);
    expect(await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w1' } })).toMatchObject({ ok: true });
    expect(await subscribe(socket, { view: 'orders', filter: { warehouseId: 'w1' } })).toEqual({
      ok: false, error: 'This embed token is for the view "inventory", not "orders".',
    });
    expect(await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w2' } })).toEqual({
      ok: false, error: 'This embed token is for warehouseId=w1, not warehouseId=w2.',
    });
    expect(socket.connected).toBe(true);
  });

  it('refuses a subscribe once the token has expired, and closes the connection', async () => {
    const socket = await openConnected(await userToken({ sub: 'ana', roles: ['viewer'] }, 300));
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toMatchObject({ ok: true });
    clock.ahead = 301_000;
    const gone = disconnected(socket);
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toEqual({
      ok: false, error: expect.stringMatching(/^The credential expired at .*; connect again with a new one\.$/),
    });
    expect(await gone).toBe('io server disconnect');
  });

  it('ends the connection when an embed token expires, and refuses the reconnection', async () => {
    const { token } = await embed.mint('orders', {}, { ttlSeconds: 2 });
    const socket = await openConnected(token);
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toMatchObject({ ok: true });
    expect(await disconnected(socket)).toBe('io server disconnect');
    socket.connect();
    expect((await refusalOf(socket)).message).toMatch(/^The embed token expired at /);
  });

  it('checks a key again once its last check is 30 s old: a revoked key is refused and disconnected', async () => {
    const { id, key } = await makeKey(['viewer']);
    const socket = await openConnected(key);
    await keys.revoke(id);
    // Within 30 s of the last check the key is not read again (one HGETALL per socket per 30 s at most).
    expect(await subscribe(socket, { view: 'orders', filter: {} })).toMatchObject({ ok: true });
    clock.ahead = 31_000;
    const gone = disconnected(socket);
    expect(await subscribe(socket, { view: 'inventory', filter: {} })).toEqual({
      ok: false, error: 'The API key is not valid: it is unknown, revoked, or was replaced by a rotation.',
    });
    expect(await gone).toBe('io server disconnect');
    socket.connect();
    expect((await refusalOf(socket)).data).toEqual(UNAUTHORIZED);
  });
});

describe('reconnecting', () => {
  it('runs the auth check again on every reconnection, never resuming a session', async () => {
    const { key } = await makeKey(['viewer']);
    const socket = await openConnected(key, { reconnection: true, reconnectionDelay: 20, reconnectionDelayMax: 20 });
    const [before, id] = [authentications, socket.id];
    const again = connected(socket);
    socket.io.engine.close();
    await again;
    expect(authentications).toBe(before + 1);
    // A new session, not a resumed one.
    expect(socket.recovered).toBeFalsy();
    expect(socket.id).not.toBe(id);
  });

  it('refuses the reconnection of a client whose key was revoked while its transport was down', async () => {
    const { id, key } = await makeKey(['viewer']);
    const socket = await openConnected(key, { reconnection: true, reconnectionDelay: 20, reconnectionDelayMax: 20 });
    await keys.revoke(id);
    const refused = refusalOf(socket);
    socket.io.engine.close();
    expect(await refused).toMatchObject({ message: expect.stringMatching(/^The API key is not valid/), data: UNAUTHORIZED });
  });

  it('refuses the reconnection after a server restart when the key was revoked meanwhile', async () => {
    const second = await startTestHub(redis.url, { authenticate: (token) => identifyToken({ local: false, keys }, token) });
    const { id, key } = await makeKey(['viewer']);
    const socket = liveClient(second.url, key, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
    clients.push(socket);
    await connected(socket);
    const { port } = second;
    const gone = disconnected(socket);
    await second.stop();
    // A server's own disconnect is not retried by Socket.IO: the client reconnects itself, as the web app does.
    expect(await gone).toBe('io server disconnect');
    await keys.revoke(id);
    socket.connect();
    const restarted = await startTestHub(redis.url, { authenticate: (token) => identifyToken({ local: false, keys }, token), port });
    try {
      // While the server was down the attempts failed at the transport (no data); then the handshake is refused.
      let refusal = await refusalOf(socket);
      while (!refusal.data) refusal = await refusalOf(socket);
      expect(refusal.data).toEqual(UNAUTHORIZED);
    } finally {
      await restarted.stop();
    }
  });

  it('disconnects every socket of a caller on disconnectPrincipal, leaving others connected', async () => {
    const revoked = await makeKey(['viewer']);
    const other = await makeKey(['viewer']);
    const [a1, a2, b] = [await openConnected(revoked.key), await openConnected(revoked.key), await openConnected(other.key)];
    await keys.revoke(revoked.id);
    const gone = Promise.all([disconnected(a1), disconnected(a2)]);
    deck.hub.disconnectPrincipal('key', revoked.id);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    expect(b.connected).toBe(true);
    a1.connect();
    expect((await refusalOf(a1)).data).toEqual(UNAUTHORIZED);
  });
});

describe('messages', () => {
  it('closes the connection of a client that sends a message over the size limit', async () => {
    const socket = await openConnected(await userToken({ sub: 'ana', roles: ['viewer'] }));
    const gone = disconnected(socket);
    socket.emit('view:subscribe', { view: 'orders', filter: { warehouseId: 'x'.repeat(8192) } }, () => {});
    expect(await gone).toMatch(/^transport (close|error)$/);
    await expect.poll(() => deck.hub.clientCount).toBe(0);
  });
});
