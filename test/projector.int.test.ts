import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_GROUPS, deadLetterKey, ENTRY_FIELDS, leaseKey, partitionOf, streamKey } from '../shared/streams.ts';
import { createRegistry } from '../shared/registry.ts';
import { orderFulfilmentTypes } from '../shared/event-types/order-fulfilment.ts';
import { builtInProjections } from '../projections/index.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { expectReadModelsToEqualFold } from './support/expect-fold.ts';
import { readModelKeys } from '../shared/read-models.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';
import { Projector } from '../projections/engine/projector.ts';

const PARTITIONS = 16;
let redis: TestRedis;
let api: RunningEventDeck;
let client: RedisClient;
const processes: EventDeckProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  api = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api' } });
  client = await connectRedis(redis.url);
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  await client.flushAll();
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
  await redis?.stop();
});

function projectorProcess(env: Record<string, string> = {}): Promise<EventDeckProcess> {
  return startEventDeckProcess({
    REDIS_URL: redis.url, EVENTDECK_ROLES: 'projector', EVENTDECK_LEASE_TTL_MS: '1500', ...env,
  }).then((p) => (processes.push(p), p));
}

async function publish(deliveries: readonly unknown[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += 500) {
    const response = await postEvents(api.url, deliveries.slice(i, i + 500));
    expect(response.status).toBe(202);
  }
}

/** Entries of the live group read but not yet acknowledged, over all partitions. */
async function pendingEntries(): Promise<number> {
  let pending = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const summary = await client.xPending(streamKey(p), CONSUMER_GROUPS.live).catch(() => ({ pending: 0 }));
    pending += summary.pending;
  }
  return pending;
}

describe('the projector', () => {
  it('after a kill -9 in the middle of a batch and a restart, equals the in-order fold: nothing missing, nothing twice', async () => {
    const deliveries = recentFlows(700);
    const events = distinct(deliveries);
    await publish(deliveries);
    let killedMidBatch = false;
    for (let attempt = 0; attempt < 5 && !killedMidBatch; attempt++) {
      // One batch at a time over all 16 partitions: the strictest turn-taking still projects every one of them.
      const projector = await projectorProcess({ EVENTDECK_BATCH_SIZE: '20', EVENTDECK_PROJECTOR_CONCURRENCY: '1' });
      await expect.poll(() => client.exists(readModelKeys.orderCounts), { timeout: 20_000, interval: 5 }).toBe(1);
      await projector.kill('SIGKILL');
      // Entries read and not acknowledged: the process died holding a batch.
      killedMidBatch = (await pendingEntries()) > 0;
    }
    expect(killedMidBatch).toBe(true);
    await projectorProcess();
    await expectReadModelsToEqualFold(api.url, client, events);
    await expect.poll(pendingEntries, { timeout: 10_000 }).toBe(0);
  });

  it('shares 16 partitions between three processes, and the survivors take over from one killed', async () => {
    const trio = [await projectorProcess(), await projectorProcess(), await projectorProcess()];
    const owners = async () => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => client.get(leaseKey(CONSUMER_GROUPS.live, p))));
    const ownedBy = async (count: number) => {
      const now = await owners();
      return now.every((o) => o !== null) && new Set(now).size === count;
    };
    // Every partition has one owner, and each of the three owns some.
    await expect.poll(() => ownedBy(3), { timeout: 20_000, interval: 200 }).toBe(true);

    const before = recentFlows(150, 11);
    await publish(before);
    await trio[0]!.kill('SIGKILL');
    // Its leases expire and the two survivors split all 16 partitions.
    await expect.poll(() => ownedBy(2), { timeout: 20_000, interval: 200 }).toBe(true);
    const after = recentFlows(150, 12);
    await publish(after);
    await expectReadModelsToEqualFold(api.url, client, distinct([...before, ...after]));
  });
});

describe('a poison event', () => {
  let projector: Projector | undefined;
  afterEach(async () => {
    await projector?.stop();
    projector = undefined;
  });

  it('goes to the dead-letter stream of the projection that fails after the retry budget, while later events of its partition apply', async () => {
    const orderId = 'o-poison';
    const partition = partitionOf(orderId, PARTITIONS);
    const raw = (id: string, type: string, data: Record<string, unknown>) => JSON.stringify({
      specversion: '1.0', id, source: '/legacy-writer', type, time: new Date().toISOString(), dataversion: 1, partitionkey: orderId, data,
    });
    // Written straight to the stream, as a broken older producer path might have: ingest would refuse both.
    const poisonId = await client.xAdd(streamKey(partition), '*', {
      [ENTRY_FIELDS.event]: raw('bad-1', 'order.placed', { orderId, customerId: 'c', warehouseId: 'w1', channel: 'web', currency: 'EUR', items: 'lots', total: 3 }),
      [ENTRY_FIELDS.acceptedAt]: String(Date.now()),
    });
    const garbageId = await client.xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: '{not json', [ENTRY_FIELDS.acceptedAt]: '0' });
    await publish([
      { specversion: '1.0', id: 'good-1', source: '/payments', type: 'payment.authorized', time: new Date().toISOString(),
        data: { orderId, paymentId: 'p1', amount: 3, currency: 'EUR', method: 'card' } },
    ]);

    const logs: string[] = [];
    projector = new Projector({
      redis: client, registry: createRegistry(orderFulfilmentTypes), projections: builtInProjections, partitions: PARTITIONS,
      batchSize: 100, batchWaitMs: 20, leaseTtlMs: 2000, pendingIdleMs: 60_000,
      retry: { baseMs: 5, factor: 2, capMs: 50, attempts: 3 }, concurrency: 4, log: (line) => logs.push(line),
    });
    let retries = 0;
    projector.committed$.subscribe((batch) => (retries += batch.retries));
    await projector.start();

    await expect.poll(async () => (await jsonOf(await fetch(`${api.url}/api/orders/${orderId}`))).order?.status, { timeout: 15_000 })
      .toBe('paid');
    // Each failing projection commits its last attempt on its own; a batch is acknowledged, and reported, after all of
    // them (the acknowledgement goes on this client, so the report comes before this client's next answer).
    await expect.poll(pendingEntries).toBe(0);
    const letters = await client.xRange(deadLetterKey('orders'), '-', '+');
    expect(letters.map((l) => l.message.streamId)).toEqual([poisonId, garbageId]);
    expect(letters[0]!.message).toMatchObject({ attempts: '3', partition: String(partition), error: expect.stringMatching(/Error/) });
    expect(JSON.parse(letters[0]!.message.event!)).toMatchObject({ id: 'bad-1' });
    expect(letters[1]!.message.error).toContain('cannot decode');
    // The garbage entry fails every projection; the bad order only the orders projection.
    expect(await client.xLen(deadLetterKey('inventory'))).toBe(1);
    expect(logs.some((l) => l.includes('attempt 1 of 3'))).toBe(true);
    // Two failed attempts retried per failing projection and batch: the garbage fails all five projections,
    // the bad order also the orders projection (in the garbage's batch, or one of its own: 2 more).
    expect([10, 12]).toContain(retries);
  });
});

/** Ids of the connections waiting in a blocking XREAD. */
async function readingConnections(): Promise<string[]> {
  const list = String(await client.sendCommand(['CLIENT', 'LIST']));
  return [...list.matchAll(/^id=(\d+) .* cmd=xread\b/gm)].map((m) => m[1]!);
}

describe('a read whose reply never arrived', () => {
  let projector: Projector | undefined;
  afterEach(async () => {
    await projector?.stop();
    projector = undefined;
  });

  it('applies the entries it delivered before anything newer: none is skipped under a later checkpoint', async () => {
    const [warehouseId, sku] = ['w-lost-reply', 'sku-1'];
    const partition = partitionOf(`${warehouseId}:${sku}`, PARTITIONS);
    const received = (id: string, qty: number) => ({
      specversion: '1.0', id, source: '/warehouse', type: 'inventory.received', time: new Date().toISOString(),
      data: { warehouseId, sku, qty },
    });
    const onHand = async () => {
      const view = await jsonOf(await fetch(`${api.url}/api/views/inventory?warehouseId=${warehouseId}`));
      return (view.state.rows as Array<{ sku: string; onHand: number }>).find((r) => r.sku === sku)?.onHand;
    };
    projector = new Projector({
      redis: client, registry: createRegistry(orderFulfilmentTypes), projections: builtInProjections, partitions: PARTITIONS,
      // Long idle waits: the loop sits in its blocking read when its connection is cut.
      batchSize: 100, batchWaitMs: 5_000, leaseTtlMs: 2000, pendingIdleMs: 60_000,
      retry: { baseMs: 5, factor: 2, capMs: 50, attempts: 3 }, concurrency: 4,
    });
    await projector.start();
    await publish([received('r-1', 1)]);
    await expect.poll(onHand, { timeout: 10_000 }).toBe(1);

    // Redis runs a read for the projector and the reply is lost with the connection (as when Redis
    // dies after it ran XREADGROUP): two receipts are delivered to the projector, which never saw them.
    const raw = (id: string, qty: number) => JSON.stringify({ ...received(id, qty), dataversion: 1, partitionkey: `${warehouseId}:${sku}` });
    await client.multi()
      .xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: raw('r-2', 10), [ENTRY_FIELDS.acceptedAt]: String(Date.now()) })
      .xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: raw('r-3', 100), [ENTRY_FIELDS.acceptedAt]: String(Date.now()) })
      .xReadGroup(CONSUMER_GROUPS.live, projector.ownerId, { key: streamKey(partition), id: '>' })
      .exec();
    // Cut the projector's reading connections (one per lane, concurrency 4; each waits in a blocking XREAD).
    await expect.poll(() => readingConnections().then((ids) => ids.length)).toBe(4);
    for (const id of await readingConnections()) await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    await publish([received('r-4', 1000)]);

    await expect.poll(onHand, { timeout: 10_000 }).toBe(1111);
    await expect.poll(pendingEntries).toBe(0);
  });
});
