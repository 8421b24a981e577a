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

const batch = (deliveries: Delivery[]) => ({ partition: 0, owner: 'a', deliveries, now: Date.now });

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
    expect(result.acknowledged).toBe(true);
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
    expect((await commitTogether(renewing, batch(deliveries), projections, false)).acknowledged).toBe(true);
    expect(renewals).toBe(2);
    expect((await written()).checkpoints).toEqual(['1-2', '1-2']);
  });
});
