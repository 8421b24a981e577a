import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { CONSUMER_GROUPS, streamKey } from '../../shared/streams.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { trimAcknowledged } from './retention.ts';

let server: TestRedis;
let redis: RedisClient;
const key = streamKey(0);

beforeAll(async () => {
  server = await startTestRedis();
  redis = await connectRedis(server.url);
});

afterAll(async () => {
  await redis?.close();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushAll();
  for (let i = 1; i <= 10; i++) await redis.xAdd(key, `1-${i}`, { event: `e${i}` });
});

/** A group that read `read` entries and acknowledged the first `acked` of them. */
async function consume(group: string, read: number, acked: number): Promise<void> {
  await redis.xGroupCreate(key, group, '0');
  const reply = (await redis.xReadGroup(group, 'c', { key, id: '>' }, { COUNT: read })) as Array<{ messages: Array<{ id: string }> }>;
  const ids = reply[0]!.messages.map((m) => m.id);
  if (acked > 0) await redis.xAck(key, group, ids.slice(0, acked));
}

const remaining = async () => (await redis.xRange(key, '-', '+')).map((e) => e.id);

describe('stream retention', () => {
  it('trims only below the oldest entry some group has not acknowledged', async () => {
    await consume(CONSUMER_GROUPS.live, 10, 10);
    await consume(CONSUMER_GROUPS.history, 6, 4); // 1-5 and 1-6 pending, 1-7… never read
    expect(await trimAcknowledged(redis, [0])).toBe(4);
    expect(await remaining()).toEqual(['1-5', '1-6', '1-7', '1-8', '1-9', '1-10']);
  });

  it('keeps the last delivered entry when a group has acknowledged everything it read', async () => {
    await consume(CONSUMER_GROUPS.live, 10, 10);
    await consume(CONSUMER_GROUPS.history, 8, 8);
    await trimAcknowledged(redis, [0]);
    expect(await remaining()).toEqual(['1-8', '1-9', '1-10']);
  });

  it('keeps entries newer than the window asked for, acknowledged or not', async () => {
    await consume(CONSUMER_GROUPS.live, 10, 10);
    await consume(CONSUMER_GROUPS.history, 10, 10);
    // Ids 1-n were added at ms 1: a window from ms 1 keeps them all.
    expect(await trimAcknowledged(redis, [0], { keepSince: 1 })).toBe(0);
    expect(await trimAcknowledged(redis, [0], { keepSince: 2 })).toBe(9);
  });

  it('trims nothing while a group does not exist yet: it will read from the start', async () => {
    await consume(CONSUMER_GROUPS.live, 10, 10);
    expect(await trimAcknowledged(redis, [0])).toBe(0);
    expect(await remaining()).toHaveLength(10);
  });
});
