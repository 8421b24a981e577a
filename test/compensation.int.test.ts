/**
 * An operator compensates a stuck order through a real EventDeck (projector
 * and api on a private Redis): its reserved stock is released and it is
 * cancelled by events EventDeck publishes; asking again changes nothing; a
 * shipped order is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { inventoryReceived, inventoryReserved, orderPlaced, shipmentCreated } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let deck: RunningEventDeck;

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api,projector', EVENTDECK_PARTITIONS: '4', EVENTDECK_BATCH_WAIT_MS: '10' } });
});

afterAll(async () => {
  await deck?.stop();
  await redis?.stop();
});

const compensate = (orderId: string, body: unknown) => fetch(`${deck.url}/api/orders/${orderId}/compensate`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
const caughtUp = () => eventually(() => projectionsCaughtUp(redis.url, 4), Boolean);
const stock = async () => (await jsonOf(await fetch(`${deck.url}/api/views/inventory?warehouseId=w-comp`))).state.rows[0];

describe('compensating a stuck order', () => {
  it('releases its reserved stock and cancels it, once however often it is asked', async () => {
    const order = { orderId: 'o-stuck', warehouseId: 'w-comp' };
    const now = new Date().toISOString();
    expect((await postEvents(deck.url, [
      inventoryReceived({ warehouseId: 'w-comp', sku: 'sku-1', qty: 10 }, { time: now }),
      orderPlaced(order, { time: now, correlationid: 'saga-stuck' }),
      inventoryReserved(order, { time: now, correlationid: 'saga-stuck' }),
    ])).status).toBe(202);
    await caughtUp();
    expect(await stock()).toMatchObject({ onHand: 10, reserved: 2, available: 8 });

    const response = await compensate('o-stuck', { reason: 'customer gave up; stock held 3 days' });
    expect(response.status).toBe(202);
    expect(await jsonOf(response)).toEqual({
      events: [{ id: 'compensation:o-stuck:inventory.released', type: 'inventory.released' }, { id: 'compensation:o-stuck:order.cancelled', type: 'order.cancelled' }],
      accepted: 2, duplicates: 0,
    });
    await caughtUp();
    expect(await stock()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    const detail = await jsonOf(await fetch(`${deck.url}/api/orders/o-stuck`));
    expect(detail.order).toMatchObject({ status: 'cancelled', cancelReason: 'customer gave up; stock held 3 days' });
    const released = detail.timeline.find((e: { type: string }) => e.type === 'inventory.released');
    expect(released).toMatchObject({ source: '/eventdeck/compensation', correlationid: 'saga-stuck', data: { items: [{ sku: 'sku-1', qty: 2 }] } });

    // Done: asking again finds nothing to compensate, and the stock stays as it is.
    const again = await compensate('o-stuck', { reason: 'double click' });
    expect(again.status).toBe(409);
    expect((await jsonOf(again)).detail).toMatch(/nothing to compensate/);
    await caughtUp();
    expect(await stock()).toMatchObject({ reserved: 0, available: 10 });
  });

  it('refuses a shipped order, an unknown one, and a request without a reason', async () => {
    const order = { orderId: 'o-gone', warehouseId: 'w-comp' };
    expect((await postEvents(deck.url, [orderPlaced(order), inventoryReserved(order), shipmentCreated(order)])).status).toBe(202);
    await caughtUp();
    const shipped = await compensate('o-gone', { reason: 'too late' });
    expect(shipped.status).toBe(409);
    expect((await jsonOf(shipped)).detail).toMatch(/has shipped/);
    expect((await compensate('o-never', { reason: 'x' })).status).toBe(404);
    expect((await compensate('o-gone', {})).status).toBe(400);
  });
});
