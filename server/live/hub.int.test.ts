import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck, ViewSubscription } from '../../shared/live.ts';
import type { ViewSnapshot } from '../../shared/views.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from '../../test/support/eventdeck.ts';
import { inventoryReceived } from '../../test/support/events.ts';
import { projectionsCaughtUp } from '../../test/support/caught-up.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import type { RunningEventDeck } from '../eventdeck.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
let redis: TestRedis;
let deck: RunningEventDeck;
const clients: Client[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_BATCH_WAIT_MS: '10' } });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await deck?.stop();
  await redis?.stop();
});

async function client(): Promise<Client & { updates: ViewSnapshot[] }> {
  const socket = connect(`${deck.url}/live`, { transports: ['websocket'], reconnection: false }) as Client & { updates: ViewSnapshot[] };
  socket.updates = [];
  socket.on('view:update', (update) => socket.updates.push(update));
  clients.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

const subscribe = (socket: Client, subscription: ViewSubscription) =>
  new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', subscription, resolve));

const stock = (qty: number, sku = 'mug') => inventoryReceived({ warehouseId: 'w-live', sku, qty }, { time: new Date().toISOString() });

describe('the live hub', () => {
  it('answers a subscription with a snapshot and its version, then pushes each change', async () => {
    const socket = await client();
    const ack = await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w-live' } });
    expect(ack).toMatchObject({ ok: true, view: 'inventory', filter: { warehouseId: 'w-live' }, version: expect.any(Number) });
    const version = (ack as ViewSnapshot).version;

    await postEvents(deck.url, [stock(7)]);
    await expect.poll(() => socket.updates.at(-1)?.state, { timeout: 10_000 }).toEqual({
      rows: [{ warehouseId: 'w-live', sku: 'mug', onHand: 7, reserved: 0, available: 7, lowStock: true }],
    });
    expect(socket.updates.at(-1)!.version).toBeGreaterThan(version);
    expect(socket.updates.at(-1)).toMatchObject({ view: 'inventory', filter: { warehouseId: 'w-live' } });
  });

  it('conflates a burst into a few pushes, the last one carrying the newest state', async () => {
    const socket = await client();
    await subscribe(socket, { view: 'inventory', filter: { warehouseId: 'w-burst' } });
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      await postEvents(deck.url, Array.from({ length: 200 }, (_, j) =>
        inventoryReceived({ warehouseId: 'w-burst', sku: `sku-${j % 20}`, qty: 1 }, { time: new Date().toISOString() })));
    }
    await eventually(() => projectionsCaughtUp(redis.url), Boolean);
    const rest = await jsonOf(await fetch(`${deck.url}/api/views/inventory?warehouseId=w-burst`));
    await expect.poll(() => socket.updates.at(-1)?.version, { timeout: 10_000 }).toBe(rest.version);
    expect(socket.updates.at(-1)!.state).toEqual(rest.state);
    expect(rest.state.rows).toHaveLength(20);
    expect(rest.state.rows.every((r: { onHand: number }) => r.onHand === 100)).toBe(true);
    // 2,000 events; at most one push per 100 ms (plus the trailing one).
    const elapsed = Date.now() - started;
    expect(socket.updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
    expect(socket.updates.length).toBeLessThan(2000 / 20);
    const versions = socket.updates.map((u) => u.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });

  it('lets subscribers of one view and filter share one topic, whatever order the filter keys come in', async () => {
    const [a, b] = [await client(), await client()];
    const before = deck.hub!.topicCount;
    await subscribe(a, { view: 'orders', filter: { status: 'placed', warehouseId: 'w-1' } });
    await subscribe(b, { view: 'orders', filter: { warehouseId: 'w-1', status: 'placed' } });
    expect(deck.hub!.topicCount).toBe(before + 1);
    b.emit('view:unsubscribe', { view: 'orders', filter: { warehouseId: 'w-1', status: 'placed' } });
    a.close();
    await expect.poll(() => deck.hub!.topicCount).toBe(before);
  });

  it('stops pushing after an unsubscribe', async () => {
    const socket = await client();
    const subscription: ViewSubscription = { view: 'inventory', filter: { warehouseId: 'w-quiet' } };
    await subscribe(socket, subscription);
    socket.emit('view:unsubscribe', subscription);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await postEvents(deck.url, [inventoryReceived({ warehouseId: 'w-quiet', sku: 'x', qty: 1 }, { time: new Date().toISOString() })]);
    await eventually(() => projectionsCaughtUp(redis.url), Boolean);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(socket.updates).toEqual([]);
  });

  it('pushes to clients of every server process, each node serving its own from the Redis change notices', async () => {
    const second = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api' } });
    try {
      const here = await client();
      const there = connect(`${second.url}/live`, { transports: ['websocket'], reconnection: false }) as Client;
      clients.push(there);
      const thereUpdates: ViewSnapshot[] = [];
      there.on('view:update', (update) => thereUpdates.push(update));
      await new Promise<void>((resolve) => there.once('connect', () => resolve()));
      const subscription: ViewSubscription = { view: 'inventory', filter: { warehouseId: 'w-nodes' } };
      await subscribe(here, subscription);
      await subscribe(there, subscription);
      await postEvents(second.url, [inventoryReceived({ warehouseId: 'w-nodes', sku: 'cup', qty: 3 }, { time: new Date().toISOString() })]);
      await expect.poll(() => here.updates.at(-1)?.state, { timeout: 10_000 }).toMatchObject({ rows: [{ sku: 'cup', onHand: 3 }] });
      await expect.poll(() => thereUpdates.at(-1)?.state, { timeout: 10_000 }).toMatchObject({ rows: [{ sku: 'cup', onHand: 3 }] });
      expect(thereUpdates.at(-1)!.version).toBe(here.updates.at(-1)!.version);
    } finally {
      await second.stop();
    }
  });

  it('refuses an unknown view or an invalid filter in the ack', async () => {
    const socket = await client();
    expect(await subscribe(socket, { view: 'weather' as never, filter: {} })).toEqual({ ok: false, error: expect.stringContaining('unknown view "weather"') });
    expect(await subscribe(socket, { view: 'orders', filter: { status: 'lost' } })).toEqual({ ok: false, error: expect.stringContaining('status') });
  });
});
