/**
 * `GET /api/views/:view?asOf=T`: the views folded from the event store up to T
 * equal the live views of a Redis that only ever saw the events up to T.
 * Events go through the real ingest and projector first; the stream entries
 * (what ingest stored) are then written to an embedded chDB event store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInProjections } from '../projections/index.ts';
import { foldInMemory } from '../projections/fold-in-memory.ts';
import { loadConfig } from '../server/config.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { toEventRow } from '../server/history/event-row.ts';
import { eventsUpTo } from '../server/history/events-up-to.ts';
import { authenticate } from '../server/auth/authenticate.ts';
import { createHttpApp } from '../server/http/app.ts';
import { applyMigrations } from '../server/history/migrations.ts';
import { openHistoryStore } from '../server/history/open-store.ts';
import type { HistoryStore } from '../server/history/store.ts';
import { buildRegistry } from '../server/registry/build.ts';
import { viewDefinitions } from '../server/views/definitions.ts';
import { memorySource } from '../server/views/memory-source.ts';
import { viewRoutes } from '../server/views/routes.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { ENTRY_FIELDS, streamKey } from '../shared/streams.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { inventoryReceived, inventoryReserved, orderCancelled, orderPlaced, paymentAuthorized, paymentFailed, shipmentCreated } from './support/events.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const start = Date.parse('2026-11-20T09:00:00Z');
const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
/** The past moment asked about: after the early events, before the late ones. */
const asOf = at(30);

const early = [
  inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 20 }, { time: at(0) }),
  orderPlaced({ orderId: 'o-1', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 3, unitPrice: 5 }], total: 15 }, { time: at(10) }),
  inventoryReserved({ orderId: 'o-1', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 3 }] }, { time: at(11) }),
  orderPlaced({ orderId: 'o-2', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 1, unitPrice: 5 }], total: 5 }, { time: at(20) }),
  paymentFailed({ orderId: 'o-2', amount: 5 }, { time: at(21) }),
];
const late = [
  paymentAuthorized({ orderId: 'o-1', amount: 15 }, { time: at(40) }),
  shipmentCreated({ orderId: 'o-1', warehouseId: 'w-1', items: [{ sku: 'mug', qty: 3 }] }, { time: at(41) }),
  orderCancelled({ orderId: 'o-2', reason: 'payment failed' }, { time: at(42) }),
  inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 100 }, { time: at(50) }),
];

let redis: TestRedis;
let deck: RunningEventDeck;
let store: HistoryStore;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-asof-'));
const config = loadConfig({});
const registry = buildRegistry();
const VIEWS = ['inventory', 'orders', 'fulfilment'] as const;
/** The live views when Redis had seen only the early events. */
const liveBefore: Record<string, { state: unknown }> = {};

async function publishAndWait(events: CloudEvent[]): Promise<void> {
  expect((await postEvents(deck.url, events)).status).toBe(202);
  await eventually(() => projectionsCaughtUp(redis.url), Boolean);
}

/** What ingest stored, from the partition streams, into the event store as the history group would. */
async function copyStreamsToStore(): Promise<number> {
  const client = createClient({ url: redis.url });
  await client.connect();
  let copied = 0;
  try {
    for (let partition = 0; partition < config.partitions; partition++) {
      const entries = await client.xRange(streamKey(partition), '-', '+');
      const rows = entries.map(({ id, message }) => toEventRow(JSON.parse(message[ENTRY_FIELDS.event]!) as CloudEvent, {
        partition, streamId: id, acceptedAt: Number(message[ENTRY_FIELDS.acceptedAt]),
      }));
      if (rows.length > 0) await store.insert('events', rows);
      copied += rows.length;
    }
  } finally {
    await client.close();
  }
  return copied;
}

beforeAll(async () => {
  redis = await startTestRedis();
  // No history role: this test writes the event store itself (and chDB allows one data dir per process).
  deck = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_ROLES: 'api,projector' } });
  store = await openHistoryStore({ dataDir });
  await applyMigrations(store);
  await publishAndWait(early);
  for (const view of VIEWS) liveBefore[view] = await jsonOf(await fetch(`${deck.url}/api/views/${view}`));
  await publishAndWait(late);
  expect(await copyStreamsToStore()).toBe(early.length + late.length);
}, 60_000);

afterAll(async () => {
  await deck?.stop();
  await store?.close();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('views as of a past time', () => {
  // Only `?asOf=` is asked of this app: its live source is empty.
  const live = memorySource({ strings: new Map(), hashes: new Map(), zsets: new Map(), sets: new Map() });
  const pastApp = () => createHttpApp({
    log: () => {},
    middleware: [['/api/*', authenticate({ local: true })]],
    routes: [['/api', viewRoutes({
      source: live, config, now: Date.now, views: viewDefinitions({ source: live, config, now: Date.now }), registry,
      asOf: async (atMs) => memorySource(foldInMemory(builtInProjections, await eventsUpTo(store, registry, atMs))),
    })]],
  });

  it('folds only the events up to that time, and equals the live views of a Redis that saw only those', async () => {
    for (const view of ['inventory', 'orders'] as const) {
      const past = await jsonOf(await pastApp().request(`/api/views/${view}?asOf=${encodeURIComponent(asOf)}`));
      expect(past.view).toBe(view);
      expect(past.version).toBe(early.length);
      expect(past.state).toEqual(liveBefore[view]!.state);
    }
  });

  it('judges stuck orders by the clock of that time', async () => {
    const past = await jsonOf(await pastApp().request(`/api/views/fulfilment?asOf=${encodeURIComponent(asOf)}`));
    const before = liveBefore.fulfilment!.state as { inFlight: unknown; orders: Array<{ orderId: string }> };
    expect(past.state.inFlight).toEqual(before.inFlight);
    // As of 09:30, o-2 (placed 09:20, limit 2 min) is stuck and o-1 (reserved 09:11, limit 5 min) too.
    expect(past.state.orders.map((o: { orderId: string; stuck: boolean; waitingMs: number }) => [o.orderId, o.stuck, o.waitingMs]))
      .toEqual([['o-1', true, 19 * 60_000], ['o-2', true, 9 * 60_000]]);
  });

  it('refuses a time that is not RFC 3339, and answers 501 where there is no event store', async () => {
    const bad = await pastApp().request('/api/views/inventory?asOf=yesterday');
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).detail).toContain('RFC 3339');
    const none = await fetch(`${deck.url}/api/views/inventory?asOf=${encodeURIComponent(asOf)}`);
    expect(none.status).toBe(501);
  });
});

describe('a process with every role (embedded chDB)', () => {
  let ownRedis: TestRedis;
  let full: EventDeckProcess;
  const get = async (path: string) => jsonOf(await fetch(`${full.url}${path}`));

  beforeAll(async () => {
    ownRedis = await startTestRedis();
    full = await startEventDeckProcess({ REDIS_URL: ownRedis.url, EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '50' });
    expect((await postEvents(full.url, [...early, ...late])).status).toBe(202);
    // The history group has every event once the view as of now counts them all.
    await eventually(async () => (await get(`/api/views/inventory?asOf=${encodeURIComponent(new Date().toISOString())}`)).version,
      (version) => version === early.length + late.length, 30_000);
  }, 60_000);

  afterAll(async () => {
    await full?.kill();
    await ownRedis?.stop();
  });

  it('answers ?asOf= from its own event store, equal to the live views that saw only the events up to then', async () => {
    for (const view of ['inventory', 'orders'] as const) {
      expect((await get(`/api/views/${view}?asOf=${encodeURIComponent(asOf)}`)).state).toEqual(liveBefore[view]!.state);
    }
  });

  it('answers analyst SQL over the same store', async () => {
    const response = await fetch(`${full.url}/api/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT type, count() AS n FROM events FINAL GROUP BY type ORDER BY type', format: 'ndjson' }),
    });
    expect(response.status).toBe(200);
    const rows = (await response.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toContainEqual({ type: 'inventory.received', n: 2 });
    expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(early.length + late.length);
  });
});
