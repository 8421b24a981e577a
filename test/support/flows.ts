/**
 * Realistic event sets for tests, from the demo's flow generator, and their
 * expected read models by an in-order fold of the distinct events.
 */
import { createFlows, type DemoEvent } from '../../demo/flows.ts';
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';

/** Deliveries of `flows` flows that started over the last half hour (duplicates and swaps included). */
export function recentFlows(flows: number, seed = 7, now = Date.now()): DemoEvent[] {
  const start = now - 30 * 60_000;
  const generator = createFlows({ seed, startAt: start, duplicateRate: 0.03, reorderRate: 0.05 });
  for (let i = 0; i < flows; i++) generator.startFlow(start + i * Math.floor((25 * 60_000) / flows));
  return generator.takeDue(now, Number.MAX_SAFE_INTEGER);
}

/** Each distinct event once (by source + id), in delivery order, as ingest would store it. */
export function distinct(deliveries: readonly DemoEvent[]): CloudEvent[] {
  const seen = new Map<string, CloudEvent>();
  for (const d of deliveries) {
    const key = eventKey(d);
    if (!seen.has(key)) seen.set(key, { ...d, dataversion: 1, partitionkey: partitionKeyOf(d) } as unknown as CloudEvent);
  }
  return [...seen.values()];
}

function partitionKeyOf(event: DemoEvent): string {
  const data = event.data as { orderId?: string; warehouseId?: string; sku?: string };
  return data.orderId ?? `${data.warehouseId}:${data.sku}`;
}
