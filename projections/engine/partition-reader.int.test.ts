import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { CONSUMER_GROUPS, leaseKey, streamKey } from '../../shared/streams.ts';
import { afterCall } from '../../test/support/redis-hooks.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { LeaseLostError } from './errors.ts';
import { PartitionReader } from './partition-reader.ts';

let server: TestRedis;
let redis: RedisClient;
let connection: RedisClient;
const group = CONSUMER_GROUPS.live;
const stream = streamKey(0);
const lease = leaseKey(group, 0);

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

beforeEach(async () => {
  await redis.flushAll();
  for (let i = 1; i <= 5; i++) await redis.xAdd(stream, `1-${i}`, { event: `e${i}` });
  await redis.xGroupCreate(stream, group, '0');
});

const reader = (conn: RedisClient, owner: string) =>
  new PartitionReader(conn, [0], { group, owner, batchSize: 3, blockMs: 10, pendingIdleMs: 60_000, now: Date.now });

/** Entries pending per consumer of the group. */
async function pendingOf(consumer: string): Promise<number> {
  const consumers = (await redis.xInfoConsumers(stream, group)) as Array<{ name: string; pending: number }>;
  return consumers.find((c) => c.name === consumer)?.pending ?? 0;
}

/** The connection, but each read of the lease runs `hook` (with what it read) before it answers. */
const afterLeaseRead = (conn: RedisClient, hook: (holder: string | null) => Promise<void>) =>
  afterCall(conn, 'mGet', async (keys, holders) => {
    if ([keys].flat().includes(lease)) await hook((holders as Array<string | null>)[0] ?? null);
  });

describe('PartitionReader', () => {
  it('reads batches in stream order while the lease is its own, then waits for new entries', async () => {
    await redis.set(lease, 'a');
    const a = reader(connection, 'a');
    expect((await a.next()).map((e) => e.id)).toEqual(['1-1', '1-2', '1-3']);
    expect((await a.next()).map((e) => [e.id, e.message.event])).toEqual([['1-4', 'e4'], ['1-5', 'e5']]);
    expect(await a.next()).toEqual([]);
    expect(await pendingOf('a')).toBe(5);
  });

  it('takes nothing once another owner holds the lease', async () => {
    await redis.set(lease, 'b');
    await expect(reader(connection, 'a').next()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await pendingOf('a')).toBe(0);
  });

  it('takes nothing when the lease goes to another owner between its look at the lease and its read', async () => {
    await redis.set(lease, 'a');
    // The connection's GET of the lease answers 'a', and only then is the lease taken, before the read runs.
    const racing = afterLeaseRead(connection, async (holder) => {
      if (holder === 'a') await redis.set(lease, 'b');
    });
    await expect(reader(racing, 'a').next()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await pendingOf('a')).toBe(0);
    // The new owner reads everything, from the first entry on.
    expect((await reader(connection, 'b').next()).map((e) => e.id)).toEqual(['1-1', '1-2', '1-3']);
  });

  it('a renewal of its own lease between look and read costs a second look, not the batch', async () => {
    await redis.set(lease, 'a');
    let renewals = 0;
    const renewing = afterLeaseRead(connection, async () => {
      if (renewals++ === 0) await redis.pExpire(lease, 10_000);
    });
    expect((await reader(renewing, 'a').next()).map((e) => e.id)).toEqual(['1-1', '1-2', '1-3']);
    expect(renewals).toBeGreaterThan(1); // looked again after the aborted read
    expect(await pendingOf('a')).toBe(3);
  });

  describe('a lane of two partitions', () => {
    const lane = () => new PartitionReader(connection, [0, 1], { group, owner: 'a', batchSize: 4, blockMs: 10, pendingIdleMs: 60_000, now: Date.now });
    beforeEach(async () => {
      for (let i = 1; i <= 3; i++) await redis.xAdd(streamKey(1), `2-${i}`, { event: `f${i}` });
      await redis.xGroupCreate(streamKey(1), group, '0');
      await redis.set(lease, 'a');
      await redis.set(leaseKey(group, 1), 'a');
    });

    it('reads both at once, each entry with its partition, about batchSize entries a read', async () => {
      const reader = lane();
      const read = async () => (await reader.next()).map((e) => `${e.partition}:${e.id}`);
      expect(await read()).toEqual(['0:1-1', '0:1-2', '1:2-1', '1:2-2']);
      expect(await read()).toEqual(['0:1-3', '0:1-4', '1:2-3']);
      expect(await read()).toEqual(['0:1-5']);
      expect(await read()).toEqual([]);
      await redis.xAdd(streamKey(1), '2-4', { event: 'f4' });
      expect(await read()).toEqual(['1:2-4']);
    });

    it('takes nothing from either once one of its leases is another owner\'s', async () => {
      await redis.set(leaseKey(group, 1), 'b');
      await expect(lane().next()).rejects.toBeInstanceOf(LeaseLostError);
      expect(await pendingOf('a')).toBe(0);
      expect((await redis.xInfoConsumers(streamKey(1), group)).length).toBe(0);
    });
  });
});
