import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { checkpointKey, CONSUMER_GROUPS, deadLetterKey, streamKey } from '../../shared/streams.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { readLag, type LagQuery } from './lag-reader.ts';

let redis: TestRedis;
let client: RedisClient;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
});

afterEach(async () => {
  await client.flushAll();
});

afterAll(async () => {
  await client?.close();
  await redis?.stop();
});

const stream = streamKey(0);
/** Ids carry the time Redis added an entry; with now at 10 s, entry 1000-0 is 9 s old. */
const query: LagQuery = {
  partitions: 2, groups: ['live', 'history'], projections: ['orders', 'inventory', 'kpi'], deadLetters: ['orders', 'history'], now: 10_000,
};

/** Entries 1000-0 … 5000-0 in partition 0, both groups created at the start. */
async function fiveEntries(): Promise<void> {
  for (let s = 1; s <= 5; s++) await client.xAdd(stream, `${s}000-0`, { event: '{}' });
  for (const group of Object.values(CONSUMER_GROUPS)) await client.xGroupCreate(stream, group, '0');
}

async function read(group: string, count: number): Promise<string[]> {
  const reply = await client.xReadGroup(group, 'c1', { key: stream, id: '>' }, { COUNT: count });
  return (reply as Array<{ messages: Array<{ id: string }> }>)[0]!.messages.map((m) => m.id);
}

describe('the lag read at scrape time', () => {
  it('counts undelivered and pending entries per group, and per projection the entries after its checkpoint, with the age of the oldest', async () => {
    await fiveEntries();
    await read('live', 3); // 1000, 2000, 3000 pending; 4000, 5000 not delivered
    await client.set(checkpointKey('inventory', 0), '3000-0'); // applied the whole pending batch
    await client.set(checkpointKey('kpi', 0), '1000-0'); // inside the pending entries (a crash left two batches)
    // orders: no checkpoint, nothing applied
    await client.xAck(stream, 'history', await read('history', 5));
    await client.xAdd(deadLetterKey('orders'), '*', { error: 'boom' });
    await client.xAdd(deadLetterKey('orders'), '*', { error: 'boom' });

    const reading = await readLag(client, query);
    expect(Object.fromEntries(reading.groups)).toEqual({
      live: { entries: 5, pending: 3, seconds: 9 },
      history: { entries: 0, pending: 0, seconds: 0 },
    });
    expect(Object.fromEntries(reading.projections)).toEqual({
      orders: { entries: 5, seconds: 9 },
      inventory: { entries: 2, seconds: 6 },
      kpi: { entries: 4, seconds: 8 },
    });
    expect(Object.fromEntries(reading.deadLetters)).toEqual({ orders: 2, history: 0 });
  });

  it('is 0 everywhere when the groups acknowledged everything and the projections applied it', async () => {
    await fiveEntries();
    for (const group of Object.values(CONSUMER_GROUPS)) await client.xAck(stream, group, await read(group, 5));
    for (const name of query.projections) await client.set(checkpointKey(name, 0), '5000-0');
    const reading = await readLag(client, query);
    expect([...reading.groups.values(), ...reading.projections.values()].every((l) => l.entries === 0 && l.seconds === 0)).toBe(true);
  });

  it('counts the undelivered entries itself when Redis cannot tell the lag (a group moved with XGROUP SETID)', async () => {
    await fiveEntries();
    await client.sendCommand(['XGROUP', 'SETID', stream, 'live', '2000-0']);
    const reading = await readLag(client, { ...query, groups: ['live'], projections: [] });
    expect(reading.groups.get('live')).toEqual({ entries: 3, pending: 0, seconds: 7 });
  });

  it('reads nothing of partitions whose stream does not exist yet', async () => {
    const reading = await readLag(client, query);
    expect(reading.groups.get('live')).toEqual({ entries: 0, pending: 0, seconds: 0 });
    expect(reading.projections.get('orders')).toEqual({ entries: 0, seconds: 0 });
  });
});
