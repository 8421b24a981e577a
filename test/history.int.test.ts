/**
 * The "history" consumer group with real Redis and real ClickHouse (embedded
 * chDB and a clickhouse-server 18.16): every accepted event lands in `events`,
 * and its rows in the analytic tables, once, whatever the duplicates, retries
 * and crashes; retention drops old months of `events`. Under CI=true a missing
 * clickhouse-server fails the run; elsewhere its cases are skipped with a note.
 * Each case uses a source of its own, and counts only its events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { toAnalyticRows } from '../projections/analytics/to-rows.ts';
import { consumerEngine, type RunningEventDeck } from '../server/eventdeck.ts';
import { HistoryUnavailableError } from '../server/history/errors.ts';
import { fromEventRow, toEventRow, type EventRow } from '../server/history/event-row.ts';
import { HISTORY_DEAD_LETTERS, HistoryWriter } from '../server/history/history-writer.ts';
import { applyMigrations } from '../server/history/migrations.ts';
import { openHistoryStore } from '../server/history/open-store.ts';
import { startRetention } from '../server/history/retention.ts';
import type { HistoryBackend, HistoryStore } from '../server/history/store.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { CONSUMER_GROUPS, ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import { inventoryFromMovements, liveInventory } from './analytics-expectations.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { clickhouseServerInstalled, startTestClickHouse, type TestClickHouse } from './support/clickhouse-server.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReceived, orderPlaced, paymentAuthorized } from './support/events.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const PARTITIONS = 16;
const withServer = process.env.CI === 'true' || clickhouseServerInstalled();
if (!withServer) console.warn('clickhouse-server is not installed: its history cases are skipped (they fail under CI=true)');

let redis: TestRedis;
let client: RedisClient;
let api: RunningEventDeck;
let clickhouse: TestClickHouse | undefined;
const chdbDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-history-writer-'));
const stores = new Map<HistoryBackend, HistoryStore>();
const writers: HistoryWriter[] = [];
const processes: EventDeckProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  // Ingest, and the live views the analytic tables are compared with; history is each case's own.
  api = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api,projector', EVENTDECK_BATCH_WAIT_MS: '10' } });
  stores.set('chdb', await openHistoryStore({ dataDir: chdbDir }));
  if (withServer) {
    clickhouse = await startTestClickHouse();
    stores.set('server', await openHistoryStore({ clickhouseUrl: clickhouse.url, dataDir: chdbDir }));
  }
  for (const store of stores.values()) await applyMigrations(store);
});

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

afterAll(async () => {
  await Promise.all([...stores.values()].map((s) => s.close()));
  await api?.stop();
  await client?.close();
  await clickhouse?.stop();
  await redis?.stop();
  rmSync(chdbDir, { recursive: true, force: true });
});

function startWriter(store: HistoryStore, batchSize = 50): HistoryWriter {
  const writer = new HistoryWriter({
    redis: client, store, engine: consumerEngine, partitions: PARTITIONS, batchSize, batchWaitMs: 30,
    leaseTtlMs: 2000, pendingIdleMs: 60_000, retry: { baseMs: 20, factor: 2, capMs: 200 }, toAnalyticRows,
  });
  writers.push(writer);
  return writer;
}

/** `count` events over many orders (so over many partitions), from one source. */
function eventsFrom(source: string, count: number): CloudEvent[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0
    ? orderPlaced({ orderId: `${source}-o${i}` }, { source })
    : paymentAuthorized({ orderId: `${source}-o${i - 1}` }, { source })));
}

async function publish(events: readonly CloudEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const response = await postEvents(api.url, events.slice(i, i + 500));
    expect(response.status).toBe(202);
  }
}

/** Distinct events of a source in ClickHouse (FINAL: copies not merged yet count once), and all rows. */
async function stored(store: HistoryStore, source: string): Promise<{ distinct: number; rows: number }> {
  const [final] = await store.query<{ n: number }>('SELECT count() AS n FROM events FINAL WHERE source = {source:String}', { source });
  const [raw] = await store.query<{ n: number }>('SELECT count() AS n FROM events WHERE source = {source:String}', { source });
  return { distinct: final!.n, rows: raw!.n };
}

/** Entries of the history group read and not yet acknowledged, over all partitions. */
async function pendingHistory(): Promise<number> {
  let pending = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    pending += (await client.xPending(streamKey(p), CONSUMER_GROUPS.history).catch(() => ({ pending: 0 }))).pending;
  }
  return pending;
}

describe.each(['chdb', 'server'] as const)('the history group on %s', (backend) => {
  const skip = backend === 'server' && !withServer;

  it.skipIf(skip)('stores every event posted over HTTP once, also when producers and the bus repeat them', async () => {
    const store = stores.get(backend)!;
    const source = `/http-${backend}`;
    const events = eventsFrom(source, 400);
    await publish(events);
    // Producers retry: the same events again, and a batch that mixes old and new.
    await publish(events.slice(0, 150));
    const late = eventsFrom(`${source}-late`, 2).map((e) => ({ ...e, source }));
    const answer = await jsonOf(await postEvents(api.url, [...events.slice(390), ...late]));
    expect(answer).toMatchObject({ accepted: 2, duplicates: 10 });
    // The bus delivers one event twice (e.g. appended again after its dedup marker expired).
    const stream = streamKey(partitionOf(`${source}-o0`, PARTITIONS));
    const again = (await client.xRange(stream, '-', '+')).find((e) => JSON.parse(e.message.event!).id === events[0]!.id)!;
    await client.xAdd(stream, '*', again.message);

    startWriter(store);
    await writers[0]!.start();
    await expect.poll(async () => (await stored(store, source)).distinct, { timeout: 20_000, interval: 100 }).toBe(402);
    await expect.poll(pendingHistory, { timeout: 10_000 }).toBe(0);
    // Stored as accepted: the row gives the event back.
    const [row] = await store.query<EventRow>('SELECT * FROM events FINAL WHERE source = {source:String} AND id = {id:String}', {
      source, id: events[0]!.id,
    });
    expect(fromEventRow(row!)).toEqual({ ...events[0], time: new Date(events[0]!.time).toISOString() });
  });

  it.skipIf(skip)('inserts a batch again when the answer to its insert was lost, and it still counts once', async () => {
    const real = stores.get(backend)!;
    const source = `/lost-answer-${backend}`;
    // The first insert into each table lands, then its answer is lost (a timeout, a reset): the writer cannot know, and retries.
    const lost = new Map<string, number>();
    const flaky: HistoryStore = {
      ...real,
      async insert(table, rows, options) {
        await real.insert(table, rows, options);
        if (!lost.has(table)) {
          lost.set(table, rows.length);
          throw new HistoryUnavailableError('the answer was lost after the insert landed');
        }
      },
    };
    await publish(eventsFrom(source, 40));
    // Background merges would fold the copies before we could count them.
    const tables = ['events', 'order_items_raw', 'orders_raw'];
    for (const table of tables) await real.exec(`SYSTEM STOP MERGES ${table}`);
    const orders = async () => (await real.query<{ orders: number; paid: number; items: number }>(
      `SELECT count() AS orders, countIf(status = 'paid' AND item_count = 2 AND total = 20) AS paid,
         (SELECT count() FROM order_items WHERE source = {source:String}) AS items
       FROM orders WHERE order_id LIKE {prefix:String}`, { source, prefix: `${source}-o%` }))[0];
    const rawRows = async (table: string) =>
      (await real.query<{ n: number }>(`SELECT count() AS n FROM ${table} WHERE source = {source:String}`, { source }))[0]!.n;
    try {
      const writer = startWriter(flaky, 1000);
      const retried = firstValueFrom(writer.committed$.pipe(filter((batch) => batch.failedInserts > 0)));
      await writer.start();
      await retried;
      await expect.poll(async () => (await stored(real, source)).distinct, { timeout: 20_000, interval: 100 }).toBe(40);
      // The retry did insert the batch again: its rows are in the table twice, and FINAL counts them once.
      expect(lost.get('events')).toBeGreaterThan(0);
      expect(await stored(real, source)).toEqual({ distinct: 40, rows: 40 + lost.get('events')! });
      // So do the analytic tables' rows, and their views count each once.
      await expect.poll(orders, { timeout: 10_000, interval: 100 }).toEqual({ orders: 20, paid: 20, items: 20 });
      expect(await rawRows('order_items_raw')).toBe(20 + lost.get('order_items_raw')!);
      expect(await rawRows('orders_raw')).toBe(40 + lost.get('orders_raw')!);
    } finally {
      for (const table of tables) await real.exec(`SYSTEM START MERGES ${table}`);
    }
    // Merged, one row of each is left.
    for (const table of tables) await real.exec(`OPTIMIZE TABLE ${table} FINAL`);
    expect(await stored(real, source)).toEqual({ distinct: 40, rows: 40 });
    expect(await rawRows('orders_raw')).toBe(40);
    expect(await orders()).toEqual({ orders: 20, paid: 20, items: 20 });
  });

  it.skipIf(skip)('retention drops the months of events entirely older than the limit, at start and on its timer', async () => {
    const store = stores.get(backend)!;
    const source = `/retention-${backend}`;
    // A clock in 2001 keeps the other cases' months (2026) far from the limit.
    const now = Date.parse('2001-03-10T00:00:00Z');
    const rowAt = (time: string, i: number) => toEventRow(
      inventoryReceived({ warehouseId: 'w-r', sku: 'sku-r' }, { source, id: `r-${i}`, time }), { partition: 0, streamId: `0-${i}`, acceptedAt: 0 });
    const months = async () => (await store.query<{ month: number; n: number }>(
      'SELECT toYYYYMM(time) AS month, count() AS n FROM events WHERE source = {source:String} GROUP BY month ORDER BY month', { source }));
    // given events of December 2000 (entirely older than 60 days before the clock) and of January 2001 (not entirely)
    await store.insert('events', [rowAt('2000-12-31T23:59:59Z', 1), rowAt('2001-01-01T00:00:00Z', 2), rowAt('2001-01-20T00:00:00Z', 3)]);
    const logged: string[] = [];
    const retention = startRetention({ store, retentionDays: 60, intervalMs: 100, now: () => now, log: (line) => logged.push(line) });
    try {
      // then the first round, at start, drops December only
      await expect.poll(months, { timeout: 10_000, interval: 50 }).toEqual([{ month: 200101, n: 2 }]);
      // and a month that expires later (a backfill of 2000 arriving late) goes on a later round
      await store.insert('events', [rowAt('2000-11-05T00:00:00Z', 4)]);
      await expect.poll(months, { timeout: 10_000, interval: 50 }).toEqual([{ month: 200101, n: 2 }]);
    } finally {
      retention.stop();
    }
    expect(logged.join('\n')).toMatch(/retention \(60 days\) dropped the months 200012 of events/);
  });
});

describe('events that can never be stored', () => {
  it('go to the history dead-letter stream with the error, are acknowledged, and the rest is stored', async () => {
    const store = stores.get('chdb')!;
    const source = '/dead-letters';
    const partition = partitionOf('w-dl:sku-dl', PARTITIONS);
    const add = (event: string) => client.xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: event, [ENTRY_FIELDS.acceptedAt]: '1' });
    // Ingest accepts old times (backfills); ClickHouse's DateTime starts in 1970.
    const ancient = inventoryReceived({ warehouseId: 'w-dl', sku: 'sku-dl' }, { source, time: '1969-07-20T20:17:40Z' });
    const ancientId = await add(JSON.stringify(ancient));
    const garbageId = await add('{not json');
    await publish([inventoryReceived({ warehouseId: 'w-dl', sku: 'sku-dl' }, { source })]);

    await startWriter(store).start();
    await expect.poll(async () => (await stored(store, source)).distinct, { timeout: 20_000, interval: 100 }).toBe(1);
    await expect.poll(pendingHistory, { timeout: 10_000 }).toBe(0);
    const letters = await client.xRange(HISTORY_DEAD_LETTERS, '-', '+');
    expect(letters.map((l) => l.message.streamId)).toEqual([ancientId, garbageId]);
    expect(letters[0]!.message).toMatchObject({ partition: String(partition), error: expect.stringContaining('outside 1970') });
    expect(JSON.parse(letters[0]!.message.event!)).toMatchObject({ id: ancient.id });
    expect(letters[1]!.message.error).toContain('cannot decode');
  });
});

describe.skipIf(!withServer)('a history process killed with kill -9', () => {
  it('in the middle of a batch, and started again: every event is stored once, and stock from inventory_movements equals the live view', async () => {
    const store = stores.get('server')!;
    const source = '/kill-9';
    const events = eventsFrom(source, 3000);
    // Realistic flows too (their own sources and warehouses in this file), so stock moves.
    const flows = recentFlows(80, 5);
    const flowEvents = distinct(flows);
    const sources = [source, ...new Set(flowEvents.map((e) => e.source))];
    const warehouses = new Set(flowEvents.map((e) => (e.data as { warehouseId?: string }).warehouseId).filter((w) => w !== undefined));
    await publish([...events, ...(flows as unknown as CloudEvent[])]);
    const historyProcess = async () => {
      const child = await startEventDeckProcess({
        REDIS_URL: redis.url, CLICKHOUSE_URL: clickhouse!.url, EVENTDECK_ROLES: 'history',
        EVENTDECK_HISTORY_BATCH_SIZE: '50', EVENTDECK_HISTORY_BATCH_WAIT_MS: '20', EVENTDECK_LEASE_TTL_MS: '1000',
      });
      processes.push(child);
      return child;
    };
    let killedMidBatch = false;
    for (let attempt = 0; attempt < 5 && !killedMidBatch; attempt++) {
      const writer = await historyProcess();
      await expect.poll(async () => (await stored(store, source)).rows > 0, { timeout: 20_000, interval: 5 }).toBe(true);
      await writer.kill('SIGKILL');
      // Entries read and not acknowledged: it died holding a batch (inserted or not).
      killedMidBatch = (await pendingHistory()) > 0;
    }
    expect(killedMidBatch).toBe(true);

    const restarted = await historyProcess();
    // Every distinct event once: FINAL counts copies once, and merged, one row of each is left.
    const count = async (final: 'FINAL' | '') => (await store.query<{ n: number }>(
      `SELECT count() AS n FROM events ${final} WHERE has({sources:Array(String)}, source)`, { sources }))[0]!.n;
    await expect.poll(() => count('FINAL'), { timeout: 90_000, interval: 250 }).toBe(events.length + flowEvents.length);
    await expect.poll(pendingHistory, { timeout: 20_000 }).toBe(0);
    expect(restarted.output()).toContain('roles: history');
    expect(await stored(store, source)).toMatchObject({ distinct: events.length });
    await store.exec('OPTIMIZE TABLE events FINAL');
    expect(await count('')).toBe(events.length + flowEvents.length);
    // Stock summed from inventory_movements equals the live inventory view, warehouse by warehouse and sku by sku.
    await eventually(() => projectionsCaughtUp(redis.url, PARTITIONS), Boolean, 30_000);
    const live = await liveInventory(api.url, warehouses);
    expect(live.length).toBeGreaterThan(10);
    expect(await inventoryFromMovements((sql) => store.query(sql), warehouses)).toEqual(live);
  }, 180_000);
});
