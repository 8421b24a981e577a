import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulator } from '../demo/simulator.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { ENTRY_FIELDS, streamKey } from '../shared/streams.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { jsonOf, startTestDeck } from './support/eventdeck.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let deck: RunningEventDeck;

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startTestDeck({ redisUrl: redis.url });
});

afterAll(async () => {
  await deck?.stop();
  await redis?.stop();
});

interface Line { sku: string; qty: number }
interface Stored { type: string; data: { warehouseId?: string; sku?: string; qty?: number; delta?: number; items?: Line[] } }

/**
 * Stock by DESIGN.md section 4, written here from the rules and nothing else of
 * EventDeck's, over what the streams hold (each entry is one accepted event).
 */
function foldStock(events: Stored[], reorderLevel: number) {
  const rows = new Map<string, { warehouseId: string; sku: string; onHand: number; reserved: number }>();
  const row = (warehouseId: string, sku: string) => {
    const key = `${warehouseId}\u0000${sku}`;
    if (!rows.has(key)) rows.set(key, { warehouseId, sku, onHand: 0, reserved: 0 });
    return rows.get(key)!;
  };
  for (const { type, data } of events) {
    const w = data.warehouseId!;
    if (type === 'inventory.received') row(w, data.sku!).onHand += data.qty!;
    if (type === 'inventory.adjusted') row(w, data.sku!).onHand += data.delta!;
    for (const line of data.items ?? []) {
      if (type === 'inventory.reserved') row(w, line.sku).reserved += line.qty;
      if (type === 'inventory.released') row(w, line.sku).reserved -= line.qty;
      if (type === 'shipment.created') {
        row(w, line.sku).onHand -= line.qty;
        row(w, line.sku).reserved -= line.qty;
      }
    }
  }
  return [...rows.values()]
    .map((r) => ({ ...r, available: r.onHand - r.reserved, lowStock: r.onHand - r.reserved < reorderLevel }))
    .sort((a, b) => (a.warehouseId + '\u0000' + a.sku < b.warehouseId + '\u0000' + b.sku ? -1 : 1));
}

describe('the demo producer', () => {
  it('after a minute of traffic, the inventory view equals a fold computed from the streams', async () => {
    const counters = await runSimulator({ url: deck.url, ratePerSecond: 40, seed: 3, signal: AbortSignal.timeout(60_000) });
    expect(counters.accepted).toBeGreaterThan(1000);
    expect(counters.duplicates).toBeGreaterThan(0);
    await expect.poll(() => projectionsCaughtUp(redis.url), { timeout: 30_000 }).toBe(true);

    const client = createClient({ url: redis.url });
    await client.connect();
    const events: Stored[] = [];
    for (let p = 0; p < 16; p++) {
      for (const entry of await client.xRange(streamKey(p), '-', '+')) events.push(JSON.parse(entry.message[ENTRY_FIELDS.event]!));
    }
    await client.close();
    expect(events).toHaveLength(counters.accepted);

    const view = await jsonOf(await fetch(`${deck.url}/api/views/inventory`));
    expect(view.state.rows).toEqual(foldStock(events, 10));
    expect(view.state.rows.length).toBeGreaterThan(10);
  }, 120_000);
});
