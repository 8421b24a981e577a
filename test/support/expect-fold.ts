/** Checks the live read models (through the API and Redis) against an in-order fold of the distinct events. */
import { expect } from 'vitest';
import type { RedisClient } from '../../platform/redis/client.ts';
import { foldInventory } from '../../projections/inventory/evolve.ts';
import { foldKpi } from '../../projections/kpi/evolve.ts';
import { evolveOrder, type OrderState } from '../../projections/orders/evolve.ts';
import { toOrder } from '../../server/views/stored-order.ts';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { inventoryRow, parseKpiHash, readModelKeys } from '../../shared/read-models.ts';
import { jsonOf } from './eventdeck.ts';

/** The read models as an in-order fold of the distinct events would have them. */
function expectedModels(events: CloudEvent[]) {
  const orders = new Map<string, OrderState>();
  for (const e of events) {
    const orderId = (e.data as { orderId?: string }).orderId;
    if (orderId) orders.set(orderId, evolveOrder(orders.get(orderId), e));
  }
  return {
    orders,
    inventory: foldInventory(events).map((row) => inventoryRow(row, 10)),
    kpi: foldKpi(events),
  };
}

/** Compares what the API and Redis hold with the in-order fold; resolves once they match. */
export async function expectReadModelsToEqualFold(apiUrl: string, client: RedisClient, events: CloudEvent[]): Promise<void> {
  const expected = expectedModels(events);
  await expect.poll(async () => (await jsonOf(await fetch(`${apiUrl}/api/views/inventory`))).state.rows, {
    timeout: 60_000, interval: 250,
  }).toEqual(expected.inventory);
  await expect.poll(async () => (await jsonOf(await fetch(`${apiUrl}/api/views/orders?limit=500`))).state.total, {
    timeout: 60_000, interval: 250,
  }).toBe(expected.orders.size);
  for (const [orderId, state] of expected.orders) {
    const body = await jsonOf(await fetch(`${apiUrl}/api/orders/${orderId}`));
    expect(body.order).toEqual(toOrder(state));
    // Each distinct event of the order once, in time order.
    const ofOrder = events.filter((e) => (e.data as { orderId?: string }).orderId === orderId);
    expect(body.timeline.map((t: { id: string }) => t.id).sort()).toEqual(ofOrder.map((e) => e.id).sort());
    const times = body.timeline.map((t: { time: string }) => Date.parse(t.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
  for (const minute of expected.kpi) {
    expect(parseKpiHash(minute.minute, await client.hGetAll(readModelKeys.kpiMinute(minute.minute)))).toEqual(minute);
  }
}
