/**
 * POST /api/projections/:name/rebuild through a real EventDeck (every role in
 * this process) with real Redis and ClickHouse (embedded chDB, and a
 * clickhouse-server 18.16 when installed; under CI=true a missing one fails):
 * a rebuild gives the read model of the in-order fold of the distinct events,
 * the same as before when nothing was wrong, repairs a corrupted one, counts an
 * event appended twice once, and ends equal to the fold while events keep
 * flowing. Errors are problem documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { readModelKeys, rebuildKeys, type RebuildStatus } from '../shared/read-models.ts';
import { checkpointKey, CONSUMER_GROUPS, ENTRY_FIELDS, streamKey } from '../shared/streams.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { clickhouseServerInstalled, startTestClickHouse, type TestClickHouse } from './support/clickhouse-server.ts';
import { expectReadModelsToEqualFold } from './support/expect-fold.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const PARTITIONS = 16;
const PROJECTIONS = ['orders', 'timeline', 'inventory', 'kpi', 'fulfilment'];
const withServer = process.env.CI === 'true' || clickhouseServerInstalled();
if (!withServer) console.warn('clickhouse-server is not installed: its rebuild cases are skipped (they fail under CI=true)');

const FAST = { EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '50' };

interface Bench {
  redis: TestRedis;
  client: RedisClient;
  deck: RunningEventDeck;
  /** Every event sent so far, each once, as ingest stored it. */
  events: CloudEvent[];
}

async function publish(bench: Bench, deliveries: readonly unknown[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += 500) {
    const response = await postEvents(bench.deck.url, deliveries.slice(i, i + 500));
    expect(response.status).toBe(202);
  }
}

/** Every projection has committed every entry, and the event store holds every event. */
async function settled(bench: Bench): Promise<void> {
  await eventually(() => projectionsCaughtUp(bench.redis.url, PARTITIONS), Boolean, 30_000);
  const store = bench.deck.history!.store;
  await eventually(async () => (await store.query<{ n: number }>('SELECT count() AS n FROM events FINAL'))[0]!.n,
    (n) => n === bench.events.length, 30_000);
}

/** What users see of the rebuilt models (times that follow the clock left out). */
async function views(bench: Bench) {
  const get = async (path: string) => (await jsonOf(await fetch(`${bench.deck.url}${path}`))).state;
  return { inventory: await get('/api/views/inventory'), orders: await get('/api/views/orders?limit=500') };
}

async function rebuild(bench: Bench, projection: string): Promise<{ final: RebuildStatus; seen: RebuildStatus[] }> {
  const response = await fetch(`${bench.deck.url}/api/projections/${projection}/rebuild`, { method: 'POST' });
  expect(response.status).toBe(202);
  const location = response.headers.get('location');
  expect(location).toBe(`/api/projections/${projection}/rebuild`);
  const started = (await jsonOf(response)) as RebuildStatus;
  expect(started).toMatchObject({ projection, state: 'running' });
  const seen: RebuildStatus[] = [];
  const final = await eventually(async () => {
    const status = (await jsonOf(await fetch(`${bench.deck.url}${location}`))) as RebuildStatus;
    seen.push(status);
    return status;
  }, (status) => status.state !== 'running', 60_000);
  expect(final.error).toBeUndefined();
  expect(final).toMatchObject({ projection, state: 'done', skipped: 0 });
  expect(final.done).toBe(final.total);
  expect(Date.parse(final.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(final.startedAt));
  for (const status of seen) expect(status.done).toBeLessThanOrEqual(status.total);
  return { final, seen };
}

function describeBackend(backend: 'chdb' | 'server') {
  describe.skipIf(backend === 'server' && !withServer)(`a rebuild (event store on ${backend})`, () => {
    let clickhouse: TestClickHouse | undefined;
    const bench = {} as Bench;

    beforeAll(async () => {
      bench.redis = await startTestRedis();
      bench.client = await connectRedis(bench.redis.url);
      if (backend === 'server') clickhouse = await startTestClickHouse();
      bench.deck = await startTestDeck({
        redisUrl: bench.redis.url, env: { ...FAST, ...(clickhouse ? { CLICKHOUSE_URL: clickhouse.url } : {}) },
      });
      const deliveries = recentFlows(300, 7);
      bench.events = distinct(deliveries);
      await publish(bench, deliveries);
      await settled(bench);
    }, 120_000);

    // Stopping a deck and a ClickHouse server takes a while on a busy machine.
    afterAll(async () => {
      await bench.deck?.stop();
      await bench.client?.close();
      await clickhouse?.stop();
      await bench.redis?.stop();
    }, 120_000);

    it('of the inventory projection gives the same read model as before, and repairs a corrupted one', async () => {
      const before = await views(bench);
      expect(before.inventory.rows.length).toBeGreaterThan(0);
      const { warehouseId, sku } = before.inventory.rows[0];
      await bench.client.hIncrBy(readModelKeys.inventory(warehouseId), `${sku}|onHand`, 1000);
      await bench.client.hSet(readModelKeys.inventory('nowhere'), 'ghost|onHand', '5');
      await bench.client.sAdd(readModelKeys.inventoryWarehouses, 'nowhere');
      expect((await views(bench)).inventory).not.toEqual(before.inventory);
      const version = Number(await bench.client.get(readModelKeys.viewVersion('inventory')));

      const { final } = await rebuild(bench, 'inventory');
      expect(final.total).toBe(bench.events.length);
      expect((await views(bench)).inventory).toEqual(before.inventory);
      expect(await bench.client.exists(readModelKeys.inventory('nowhere'))).toBe(0);
      expect(Number(await bench.client.get(readModelKeys.viewVersion('inventory')))).toBeGreaterThan(version);
      await expectReadModelsToEqualFold(bench.deck.url, bench.client, bench.events);
      // Nothing staged is left behind.
      expect(await bench.client.keys(`${rebuildKeys.stagePrefix('inventory')}*`)).toEqual([]);
    });

    it('of every projection gives the fold of the distinct events, after the orders were corrupted', async () => {
      const before = await views(bench);
      const victim = before.orders.orders[0].orderId as string;
      const stored = JSON.parse((await bench.client.get(readModelKeys.order(victim)))!);
      await bench.client.set(readModelKeys.order(victim), JSON.stringify({ ...stored, total: 1_000_000, status: 'cancelled' }));
      await bench.client.zAdd(readModelKeys.ordersByStatus('cancelled'), { score: 1, value: 'ORD-phantom' });
      await bench.client.hIncrBy(readModelKeys.orderCounts, 'cancelled', 3);
      expect((await views(bench)).orders).not.toEqual(before.orders);

      for (const projection of PROJECTIONS) await rebuild(bench, projection);
      expect(await views(bench)).toEqual(before);
      await expectReadModelsToEqualFold(bench.deck.url, bench.client, bench.events);
      // The timeline's keys share the order: prefix and were left to their own projection.
      expect(await bench.client.zCard(readModelKeys.orderTimeline(victim))).toBeGreaterThan(0);
    });

    it('counts an event appended to its stream twice once, as the fold of the distinct events does', async () => {
      const partition = 3;
      const [entry] = await bench.client.xRevRange(streamKey(partition), '+', '-', { COUNT: 1 });
      const again = (await bench.client.xRange(streamKey(partition), '-', '+')).find((e) =>
        (JSON.parse(e.message[ENTRY_FIELDS.event]!) as CloudEvent).type === 'inventory.received') ?? entry!;
      await bench.client.xAdd(streamKey(partition), '*', again.message);
      await settled(bench);
      // The live projector applied it twice; the store holds it once.
      await rebuild(bench, 'inventory');
      await expectReadModelsToEqualFold(bench.deck.url, bench.client, bench.events);
    });

    it('while events keep flowing ends equal to the fold of every event, and the projector goes on after it', async () => {
      let stop = false;
      let sentDuring = 0;
      let rebuilding = false;
      const flowing = (async () => {
        const deliveries = recentFlows(250, 23);
        bench.events.push(...distinct(deliveries));
        for (let i = 0; i < deliveries.length && !stop; i += 10) {
          await publish(bench, deliveries.slice(i, i + 10));
          if (rebuilding) sentDuring += Math.min(10, deliveries.length - i);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      })();
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        rebuilding = true;
        await Promise.all([rebuild(bench, 'orders'), rebuild(bench, 'inventory')]);
        rebuilding = false;
        expect(sentDuring).toBeGreaterThan(0);
      } catch (error) {
        stop = true;
        throw error;
      } finally {
        await flowing;
      }
      // Events sent after the switch go on into the rebuilt models.
      await settled(bench);
      await expectReadModelsToEqualFold(bench.deck.url, bench.client, bench.events);
    });
  });
}

describeBackend('chdb');
describeBackend('server');

describe('the rebuild API', () => {
  let redis: TestRedis;
  let client: RedisClient;
  let deck: RunningEventDeck;
  let apiOnly: RunningEventDeck;
  const bench = {} as Bench;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = await connectRedis(redis.url);
    // Every role, embedded chDB (only this process may hold its data dir).
    deck = await startTestDeck({ redisUrl: redis.url, env: FAST });
    apiOnly = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api' } });
    Object.assign(bench, { redis, client, deck, events: [] });
    const deliveries = recentFlows(60, 5);
    bench.events = distinct(deliveries);
    await publish(bench, deliveries);
    await settled(bench);
  }, 120_000);

  afterAll(async () => {
    await apiOnly?.stop();
    await deck?.stop();
    await client?.close();
    await redis?.stop();
  });

  const problem = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    return jsonOf(response);
  };

  it('answers 404 problems for an unknown projection, and for one never rebuilt', async () => {
    const unknown = await problem(await fetch(`${deck.url}/api/projections/nope/rebuild`, { method: 'POST' }), 404);
    expect(unknown.detail).toContain('orders');
    await problem(await fetch(`${deck.url}/api/projections/nope/rebuild`), 404);
    const never = await problem(await fetch(`${deck.url}/api/projections/kpi/rebuild`), 404);
    expect(never.detail).toContain('POST');
  });

  it('answers 409 while a rebuild of that projection runs (in any process)', async () => {
    await client.set(rebuildKeys.lock('kpi'), 'another-process', { PX: 10_000 });
    try {
      const body = await problem(await fetch(`${deck.url}/api/projections/kpi/rebuild`, { method: 'POST' }), 409);
      expect(body.type).toBe('https://eventdeck.dev/problems/conflict');
    } finally {
      await client.del(rebuildKeys.lock('kpi'));
    }
    await rebuild(bench, 'kpi');
  });

  it('answers 501 in a process without the event store', async () => {
    const body = await problem(await fetch(`${apiOnly.url}/api/projections/inventory/rebuild`, { method: 'POST' }), 501);
    expect(body.detail).toContain('history');
  });

  it('fails clearly, changing nothing, when a stream lost entries the event store does not hold', async () => {
    const partition = 5;
    const before = await views(bench);
    // As if the history group had stored nothing of this partition, whose stream was then trimmed.
    await client.xTrim(streamKey(partition), 'MAXLEN', 0);
    await client.xGroupSetId(streamKey(partition), CONSUMER_GROUPS.history, '0');
    expect(await client.get(checkpointKey('inventory', partition))).not.toBeNull();
    const response = await fetch(`${deck.url}/api/projections/inventory/rebuild`, { method: 'POST' });
    expect(response.status).toBe(202);
    const final = await eventually(async () => (await jsonOf(await fetch(`${deck.url}/api/projections/inventory/rebuild`))) as RebuildStatus,
      (status) => status.state !== 'running');
    expect(final.state).toBe('failed');
    expect(final.error?.code).toBe('EVENTDECK_REBUILD_STREAM_TRIMMED');
    expect(final.error?.message).toContain(`partition ${partition}`);
    expect(await views(bench)).toEqual(before);
  });
});
