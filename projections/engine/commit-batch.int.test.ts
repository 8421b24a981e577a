import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { readModelKeys } from '../../shared/read-models.ts';
import { checkpointKey, CONSUMER_GROUPS, leaseKey, streamKey } from '../../shared/streams.ts';
import { inventoryReceived, orderPlaced } from '../../test/support/events.ts';
import { afterCall } from '../../test/support/redis-hooks.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { inventoryProjection } from '../inventory/index.ts';
import { ordersProjection } from '../orders/index.ts';
import { commitTogether } from './commit-batch.ts';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type { Delivery } from './decode.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';

let server: TestRedis;
let redis: RedisClient;
let connection: RedisClient;
const group = CONSUMER_GROUPS.live;
const lease = leaseKey(group, 0);
const projections = [ordersProjection, inventoryProjection];
const events = [orderPlaced(), inventoryReceived()];

beforeAll(async () => {
  server = await startTestRedis();
  redis = await connectRedis(server.url);
  connection = await connectRedis(server.url);
});

afterAll(async () => {
  await connection?.close();
  await redis?.close();
  await server?.stop();
});

/** The two events on partition 0's stream, read by consumer 'a', which holds the lease. */
async function readBatch(): Promise<Delivery[]> {
  await redis.flushAll();
  await redis.set(lease, 'a');
  for (const [i, event] of events.entries()) await redis.xAdd(streamKey(0), `1-${i + 1}`, { event: JSON.stringify(event) });
  await redis.xGroupCreate(streamKey(0), group, '0');
  await redis.xReadGroup(group, 'a', { key: streamKey(0), id: '>' });
  return events.map((event, i) => ({ streamId: `1-${i + 1}`, raw: JSON.stringify(event), acceptedAt: 0, event }));
}

const batch = (deliveries: Delivery[]) => [{ partition: 0, owner: 'a', deliveries, now: Date.now }];

/** The connection, but after each MGET that reads the lease `hook` runs, before the commit's EXEC. */
const afterLeaseRead = (conn: RedisClient, hook: () => Promise<void>) =>
  afterCall(conn, 'mGet', async (keys) => {
    if ([keys].flat().includes(lease)) await hook();
  });

/** What a commit would have written: documents, counters, checkpoints, acknowledgements. */
async function written() {
  return {
    order: await redis.get(readModelKeys.order('o-1')),
    stock: await redis.hGetAll(readModelKeys.inventory('w-1')),
    checkpoints: await redis.mGet(projections.map((p) => checkpointKey(p.name, 0))),
    pending: ((await redis.xPending(streamKey(0), group)) as { pending: number }).pending,
  };
}

beforeEach(async () => {
  await redis.flushAll();
});

describe('commitTogether', () => {
  it('writes every projection, its checkpoint and the acknowledgement in one transaction', async () => {
    const result = await commitTogether(connection, batch(await readBatch()), projections, false);
    expect(result.map((r) => r.acknowledged)).toEqual([true]);
    const after = await written();
    expect(JSON.parse(after.order!)).toMatchObject({ orderId: 'o-1', status: 'placed' });
    expect(after.stock).toEqual({ 'sku-1|onHand': '10' });
    expect(after.checkpoints).toEqual(['1-2', '1-2']);
    expect(after.pending).toBe(0);
  });

  it('writes nothing when the lease goes to another owner after it was read', async () => {
    const deliveries = await readBatch();
    const racing = afterLeaseRead(connection, () => redis.set(lease, 'b').then(() => undefined));
    await expect(commitTogether(racing, batch(deliveries), projections, false)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await written()).toEqual({ order: null, stock: {}, checkpoints: [null, null], pending: 2 });
  });

  it('writes nothing while a checkpoint keeps moving under it, and says so', async () => {
    const deliveries = await readBatch();
    let moves = 0;
    const moving = afterLeaseRead(connection, () => redis.set(checkpointKey('inventory', 0), `0-${++moves}`).then(() => undefined));
    await expect(commitTogether(moving, batch(deliveries), projections, false)).rejects.toBeInstanceOf(CheckpointMovedError);
    const after = await written();
    expect(after).toMatchObject({ order: null, stock: {}, pending: 2 });
    expect(after.checkpoints).toEqual([null, `0-${moves}`]);
  });

  it('plans again when the lease was only renewed, and commits', async () => {
    const deliveries = await readBatch();
    let renewals = 0;
    const renewing = afterLeaseRead(connection, async () => {
      if (renewals++ === 0) await redis.pExpire(lease, 10_000);
    });
    expect((await commitTogether(renewing, batch(deliveries), projections, false))[0]!.acknowledged).toBe(true);
    expect(renewals).toBe(2);
    expect((await written()).checkpoints).toEqual(['1-2', '1-2']);
  });
});

describe('commitTogether over a round of several partitions', () => {
  /** Each list of events on its partition's stream, read by consumer 'a', which holds every lease. */
  async function readRound(partitions: CloudEvent[][]) {
    await redis.flushAll();
    return Promise.all(partitions.map(async (events, partition) => {
      await redis.set(leaseKey(group, partition), 'a');
      for (const [i, event] of events.entries()) await redis.xAdd(streamKey(partition), `1-${i + 1}`, { event: JSON.stringify(event) });
      await redis.xGroupCreate(streamKey(partition), group, '0');
      await redis.xReadGroup(group, 'a', { key: streamKey(partition), id: '>' });
      const deliveries = events.map((event, i): Delivery => ({ streamId: `1-${i + 1}`, raw: JSON.stringify(event), acceptedAt: 0, event }));
      return { partition, owner: 'a', deliveries, now: Date.now };
    }));
  }
  const pending = async (partition: number) => ((await redis.xPending(streamKey(partition), group)) as { pending: number }).pending;

  it('commits both batches in one transaction, and each view version grows once', async () => {
    const round = await readRound([
      [orderPlaced({ orderId: 'o-1' }), inventoryReceived({ warehouseId: 'w-1' })],
      [orderPlaced({ orderId: 'o-2' }), inventoryReceived({ warehouseId: 'w-2', qty: 5 })],
    ]);
    const results = await commitTogether(connection, round, projections, false);
    expect(results.map((r) => r.acknowledged)).toEqual([true, true]);
    expect(await redis.mGet([readModelKeys.order('o-1'), readModelKeys.order('o-2')])).not.toContain(null);
    expect(await redis.hGetAll(readModelKeys.inventory('w-2'))).toEqual({ 'sku-1|onHand': '5' });
    expect(await redis.mGet(projections.flatMap((p) => [checkpointKey(p.name, 0), checkpointKey(p.name, 1)]))).toEqual(['1-2', '1-2', '1-2', '1-2']);
    expect([await pending(0), await pending(1)]).toEqual([0, 0]);
    // Both projections changed the overview, in two partitions: one change of the view, one version.
    expect(await redis.get(readModelKeys.viewVersion('overview'))).toBe('1');
  });

  it('a projection that fails on one partition\'s event commits for neither; the others commit, no batch is acknowledged', async () => {
    const bad = orderPlaced({ orderId: 'o-bad', items: 'lots' as never });
    const round = await readRound([
      [orderPlaced({ orderId: 'o-1' }), inventoryReceived({ warehouseId: 'w-1' })],
      [bad, inventoryReceived({ warehouseId: 'w-2', qty: 5 })],
    ]);
    const results = await commitTogether(connection, round, projections, false);
    expect(results.map((r) => r.failed.map((f) => [f.projection.name, f.failures.map((x) => x.delivery.streamId)]))).toEqual([
      [['orders', []]], // failed elsewhere in the round: tried again alone, at once
      [['orders', ['1-1']]],
    ]);
    expect(results.map((r) => [...r.committed.keys()])).toEqual([['inventory'], ['inventory']]);
    expect(results.map((r) => r.acknowledged)).toEqual([false, false]);
    expect(await redis.get(readModelKeys.order('o-1'))).toBeNull();
    expect(await redis.hGetAll(readModelKeys.inventory('w-2'))).toEqual({ 'sku-1|onHand': '5' });
    expect(await redis.mGet([checkpointKey('orders', 0), checkpointKey('orders', 1), checkpointKey('inventory', 0), checkpointKey('inventory', 1)]))
      .toEqual([null, null, '1-2', '1-2']);
    expect([await pending(0), await pending(1)]).toEqual([2, 2]);
  });
});
