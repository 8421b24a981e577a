/**
 * A ClickHouse outage under steady load stalls only the history group (the
 * issue's acceptance: "ClickHouse server stopped for 30 s under a steady event
 * load: live views keep updating; after the restart everything arrives
 * once"). The test stops clickhouse-server for 30 s while 100 events a second
 * arrive: meanwhile the live inventory view keeps changing, the history
 * backlog grows in Redis while the writer holds at most one batch per
 * partition, and once the server is back every event is in `events` once and
 * its stock movement in `inventory_movements` once. Needs clickhouse-server
 * (fails under CI=true without it, skipped elsewhere).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { CONSUMER_GROUPS, type ConsumerGroup } from '../shared/streams.ts';
import { inventoryFromMovements, liveInventory } from './analytics-expectations.ts';
import { groupBacklog } from './history-backlog.ts';
import { clickhouseServerInstalled, startTestClickHouse, type TestClickHouse } from './support/clickhouse-server.ts';
import { jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { inventoryReceived } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const PARTITIONS = 16;
const BATCH_SIZE = 20;
const OUTAGE_MS = 30_000;
/** The live view is read this often during the outage: each read must show more stock than the one before. */
const LIVE_CHECK_MS = 5_000;
const withServer = process.env.CI === 'true' || clickhouseServerInstalled();
if (!withServer) console.warn('clickhouse-server is not installed: the history outage case is skipped (it fails under CI=true)');

let redis: TestRedis;
let client: RedisClient;
let clickhouse: TestClickHouse;
let deck: RunningEventDeck;

beforeAll(async () => {
  if (!withServer) return;
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  clickhouse = await startTestClickHouse();
  // Every role in one process, as the default deployment runs them.
  deck = await startTestDeck({
    redisUrl: redis.url,
    env: {
      CLICKHOUSE_URL: clickhouse.url, EVENTDECK_BATCH_WAIT_MS: '10',
      EVENTDECK_HISTORY_BATCH_SIZE: String(BATCH_SIZE), EVENTDECK_HISTORY_BATCH_WAIT_MS: '20',
      // Short backoff caps: the writer notices the server's return within half a second.
      EVENTDECK_RETRY_BASE_MS: '50', EVENTDECK_RETRY_CAP_MS: '500',
    },
  });
});

afterAll(async () => {
  await deck?.stop();
  await client?.close();
  await clickhouse?.stop();
  await redis?.stop();
});

const backlog = (group: ConsumerGroup) => groupBacklog(client, group, PARTITIONS);

async function onHand(): Promise<number> {
  const view = await jsonOf(await fetch(`${deck.url}/api/views/inventory?warehouseId=w-outage`));
  return (view.state.rows as Array<{ onHand: number }>).reduce((sum, row) => sum + row.onHand, 0);
}

async function storedEvents(): Promise<number> {
  const [row] = await deck.history!.store.query<{ n: number }>("SELECT count() AS n FROM events FINAL WHERE source = '/outage'");
  return row!.n;
}

describe.skipIf(!withServer)('a ClickHouse outage', () => {
  it('stalls only the history group: live views go on, its backlog waits in Redis, and every event arrives once after', async () => {
    const sent: CloudEvent[] = [];
    let loading = true;
    // Steady load: 10 stock receipts (over 10 skus, so over several partitions) every 100 ms.
    const load = (async () => {
      for (let round = 0; loading; round++) {
        const events = Array.from({ length: 10 }, (_, i) =>
          inventoryReceived({ warehouseId: 'w-outage', sku: `sku-${i}`, qty: 1 }, { source: '/outage' }));
        expect((await postEvents(deck.url, events)).status).toBe(202);
        sent.push(...events);
        await sleep(100);
      }
    })();

    await expect.poll(storedEvents, { timeout: 15_000, interval: 100 }).toBeGreaterThan(0);
    let failedInserts = 0;
    const batches = deck.history!.writer.committed$.subscribe((batch) => (failedInserts += batch.failedInserts));
    await clickhouse.halt();
    const stockAtHalt = await onHand();
    const heldMax = { value: 0 };
    const watch = setInterval(() => (heldMax.value = Math.max(heldMax.value, deck.history!.writer.held)), 20);
    // The live view keeps updating all through the outage, not only by its end.
    const stockDuring = [stockAtHalt];
    for (let waited = 0; waited < OUTAGE_MS; waited += LIVE_CHECK_MS) {
      await sleep(LIVE_CHECK_MS);
      stockDuring.push(await onHand());
    }
    clearInterval(watch);

    expect(stockDuring.every((stock, i) => i === 0 || stock > stockDuring[i - 1]!), String(stockDuring)).toBe(true);
    expect(stockDuring.at(-1)!).toBeGreaterThan(stockAtHalt + 1_000);
    // History waited in Redis, not in memory: far more entries unacknowledged than the writer held.
    const waiting = await backlog(CONSUMER_GROUPS.history);
    expect(waiting).toBeGreaterThan(1_000);
    expect(heldMax.value).toBeLessThanOrEqual(PARTITIONS * (2 * BATCH_SIZE - 1));
    expect(await backlog(CONSUMER_GROUPS.live)).toBeLessThan(100);

    await clickhouse.start();
    await sleep(500);
    loading = false;
    await load;
    await expect.poll(storedEvents, { timeout: 90_000, interval: 250 }).toBe(sent.length);
    await expect.poll(() => backlog(CONSUMER_GROUPS.history), { timeout: 20_000 }).toBe(0);
    expect(await onHand()).toBe(sent.length);
    // Each stock movement once too: the analytic tables were written in the same batches.
    const sql = (query: string) => deck.history!.store.query(query);
    const warehouse = new Set(['w-outage']);
    expect(await inventoryFromMovements(sql, warehouse)).toEqual(await liveInventory(deck.url, warehouse));
    expect(await sql("SELECT count() AS n, sum(on_hand_delta) AS stock FROM inventory_movements WHERE warehouse_id = 'w-outage'"))
      .toEqual([{ n: sent.length, stock: sent.length }]);
    // The writer did meet the outage: batches were stored only after failed inserts.
    batches.unsubscribe();
    expect(failedInserts).toBeGreaterThan(0);
  }, 180_000);

  it('does not keep a history process from starting; its history is written once the server answers', async () => {
    await clickhouse.halt();
    const historyOnly = await startTestDeck({
      redisUrl: redis.url,
      env: { CLICKHOUSE_URL: clickhouse.url, EVENTDECK_ROLES: 'history', EVENTDECK_RETRY_BASE_MS: '50', EVENTDECK_RETRY_CAP_MS: '500' },
    });
    try {
      const events = Array.from({ length: 20 }, (_, i) => inventoryReceived({ warehouseId: 'w-late', sku: `sku-${i}` }, { source: '/late-start' }));
      expect((await postEvents(deck.url, events)).status).toBe(202);
      await sleep(1_000);
      await clickhouse.start();
      const count = async () => (await historyOnly.history!.store.query<{ n: number }>(
        "SELECT count() AS n FROM events FINAL WHERE source = '/late-start'"))[0]!.n;
      await expect.poll(count, { timeout: 20_000, interval: 200 }).toBe(20);
    } finally {
      await historyOnly.stop();
    }
  });
});
