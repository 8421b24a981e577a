import { defer, tap } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { CONSUMER_GROUPS, leaseKey, streamKey } from '../../shared/streams.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { OwnedPartitions } from './owned-partitions.ts';

let server: TestRedis;
let redis: RedisClient;

beforeAll(async () => {
  server = await startTestRedis();
  redis = await connectRedis(server.url);
});

afterAll(async () => {
  await redis?.close();
  await server?.stop();
});

const connectionsOpened = async () => Number(/total_connections_received:(\d+)/.exec(await redis.info('stats'))![1]);

describe('OwnedPartitions', () => {
  it('a lane that lost a lease pauses instead of starting again at once, and goes on with the partitions it still owns', async () => {
    const read: string[] = [];
    const partitions = new OwnedPartitions(redis, {
      group: CONSUMER_GROUPS.live, partitions: 2, lanes: 1, ownerId: 'a', leaseTtlMs: 1500, batchSize: 10, blockMs: 20,
      pendingIdleMs: 60_000, retry: { baseMs: 5, factor: 2, capMs: 50 }, now: Date.now, random: Math.random, log: () => {},
    }, {
      round: (_lane, reader) => defer(() => reader.next()).pipe(tap((entries) => read.push(...entries.map((e) => `${e.partition}:${e.message.event}`)))),
    });
    await partitions.start();
    try {
      expect([...partitions.leases.owned]).toEqual([0, 1]);
      // Another process takes partition 1 (as after this one stalled past its lease): the lease still looks ours
      // here until the next lease round, every TTL / 3.
      const before = await connectionsOpened();
      await redis.set(leaseKey(CONSUMER_GROUPS.live, 1), 'b', { PX: 60_000 });
      await redis.xAdd(streamKey(0), '*', { event: 'after' });
      await expect.poll(() => [...partitions.leases.owned], { timeout: 5_000 }).toEqual([0]);
      // Started again at once, the loop failed and reconnected in a tight loop until then: thousands of connections.
      expect((await connectionsOpened()) - before).toBeLessThan(20);
      await expect.poll(() => read, { timeout: 5_000 }).toContain('0:after');
    } finally {
      await partitions.stop();
    }
  });
});
