import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import {
  inventoryAdjusted, inventoryReceived, inventoryReleased, inventoryReserved, orderCancelled, orderPlaced,
  paymentAuthorized, paymentFailed, shipmentCreated,
} from './support/events.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let deck: RunningEventDeck;
const now = Date.now();
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();
const view = async (path: string) => jsonOf(await fetch(`${deck.url}/api/views/${path}`));

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startTestDeck({
    redisUrl: redis.url,
    env: { EVENTDECK_BATCH_WAIT_MS: '10' },
  });
  // Two orders in w-1 (one paid, one compensated and cancelled), one order in w-2 only reserved and stuck.
  const response = await postEvents(deck.url, [
    inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 12 }, { time: ago(600) }),
    inventoryReceived({ warehouseId: 'w-2', sku: 'mug', qty: 50 }, { time: ago(600) }),
    inventoryAdjusted({ warehouseId: 'w-1', sku: 'mug', delta: -1 }, { time: ago(590) }),
    orderPlaced({ orderId: 'o-a', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 2, unitPrice: 7.5 }], total: 15 }, { time: ago(120) }),
    inventoryReserved({ orderId: 'o-a', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 2 }] }, { time: ago(119) }),
    paymentAuthorized({ orderId: 'o-a', amount: 15 }, { time: ago(118) }),
    orderPlaced({ orderId: 'o-b', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 1, unitPrice: 7.5 }], total: 7.5 }, { time: ago(100) }),
    inventoryReserved({ orderId: 'o-b', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 1 }] }, { time: ago(99) }),
    paymentFailed({ orderId: 'o-b', amount: 7.5 }, { time: ago(98) }),
    inventoryReleased({ orderId: 'o-b', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 1 }] }, { time: ago(97) }),
    orderCancelled({ orderId: 'o-b', reason: 'payment failed' }, { time: ago(96) }),
    orderPlaced({ orderId: 'o-c', warehouseId: 'w-2', items: [{ sku: 'mug', qty: 40, unitPrice: 1 }], total: 40 }, { time: ago(900) }),
    inventoryReserved({ orderId: 'o-c', warehouseId: 'w-2', items: [{ sku: 'mug', qty: 40 }] }, { time: ago(899) }),
  ]);
  expect(response.status).toBe(202);
  // Each projection commits on its own: wait until every one has taken every event.
  await eventually(() => projectionsCaughtUp(redis.url), Boolean);
});

afterAll(async () => {
  await deck?.stop();
  await redis?.stop();
});

describe('read API', () => {
  it('lists the newest orders first with counts by status, filtered by status and warehouse', async () => {
    const all = await view('orders');
    expect(all).toMatchObject({ view: 'orders', filter: { limit: 50 }, version: expect.any(Number) });
    expect(all.state.orders.map((o: { orderId: string }) => o.orderId)).toEqual(['o-b', 'o-a', 'o-c']);
    expect(all.state.counts).toEqual({ placed: 0, reserved: 1, paid: 1, shipped: 0, delivered: 0, cancelled: 1 });
    const cancelled = await view('orders?status=cancelled');
    expect(cancelled.state.orders).toEqual([expect.objectContaining({
      orderId: 'o-b', status: 'cancelled', paymentFailures: 1, cancelReason: 'payment failed', total: 7.5, itemCount: 1,
    })]);
    const w1 = await view('orders?warehouseId=w-1&status=paid');
    expect(w1.state.orders.map((o: { orderId: string }) => o.orderId)).toEqual(['o-a']);
  });

  it('shows stock per warehouse and sku with available and low stock, filtered', async () => {
    const all = await view('inventory');
    expect(all.state.rows).toEqual([
      { warehouseId: 'w-1', sku: 'mug', onHand: 11, reserved: 2, available: 9, lowStock: true },
      { warehouseId: 'w-2', sku: 'mug', onHand: 50, reserved: 40, available: 10, lowStock: false },
    ]);
    expect((await view('inventory?warehouseId=w-2')).state.rows).toHaveLength(1);
    expect((await view('inventory?lowStock=true')).state.rows.map((r: { warehouseId: string }) => r.warehouseId)).toEqual(['w-1']);
  });

  it('puts stuck in-flight orders first in the fulfilment view', async () => {
    const fulfilment = await view('fulfilment');
    expect(fulfilment.state.inFlight).toEqual({ placed: 0, reserved: 1, paid: 1 });
    // o-c waits in "reserved" for 15 minutes, over the 5-minute limit; o-a is paid 2 minutes ago, under 30.
    expect(fulfilment.state.orders.map((o: { orderId: string; stuck: boolean }) => [o.orderId, o.stuck])).toEqual([
      ['o-c', true], ['o-a', false],
    ]);
    expect(fulfilment.state.stuck).toBe(1);
    expect((await view('fulfilment?warehouseId=w-1')).state.orders).toHaveLength(1);
    // A limit shortens the list, not the counts; the stuck order stays first.
    const first = await view('fulfilment?limit=1');
    expect(first.state).toMatchObject({ inFlight: { placed: 0, reserved: 1, paid: 1 }, stuck: 1 });
    expect(first.state.orders.map((o: { orderId: string; warehouseId: string }) => [o.orderId, o.warehouseId])).toEqual([['o-c', 'w-2']]);
  });

  it('sums the KPIs of the last hour into tiles', async () => {
    const overview = await view('overview');
    expect(overview.state.minutes).toHaveLength(60);
    expect(overview.state.tiles).toMatchObject({
      gmv: { EUR: 62.5 }, paymentSuccessRate: 0.5, inFlight: 2, stuck: 1, lowStock: 1,
    });
  });

  it('answers one order with its timeline of events in time order', async () => {
    const body = await jsonOf(await fetch(`${deck.url}/api/orders/o-b`));
    expect(body.order).toMatchObject({ orderId: 'o-b', status: 'cancelled', stages: { placed: ago(100), cancelled: ago(96) } });
    expect(body.timeline.map((e: { type: string }) => e.type)).toEqual([
      'order.placed', 'inventory.reserved', 'payment.failed', 'inventory.released', 'order.cancelled',
    ]);
    const missing = await fetch(`${deck.url}/api/orders/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('grows a view version with each change and leaves the others alone', async () => {
    const before = { inventory: (await view('inventory')).version, orders: (await view('orders')).version };
    await postEvents(deck.url, [inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 5 }, { time: ago(1) })]);
    await expect.poll(() => projectionsCaughtUp(redis.url), { timeout: 10_000 }).toBe(true);
    expect((await view('inventory')).version).toBeGreaterThan(before.inventory);
    expect((await view('inventory?warehouseId=w-1')).state.rows[0]).toMatchObject({ onHand: 16, lowStock: false });
    expect((await view('orders')).version).toBe(before.orders);
  });

  it('refuses unknown views, unknown filters and bad values with problem documents', async () => {
    const unknown = await fetch(`${deck.url}/api/views/weather`);
    expect(unknown.status).toBe(404);
    expect((await jsonOf(unknown)).detail).toContain('overview, orders, inventory, fulfilment');
    const badFilter = await fetch(`${deck.url}/api/views/orders?status=lost`);
    expect(badFilter.status).toBe(400);
    expect((await jsonOf(badFilter)).detail).toContain('status');
    const unknownFilter = await fetch(`${deck.url}/api/views/inventory?colour=blue`);
    expect(unknownFilter.status).toBe(400);
  });
});
