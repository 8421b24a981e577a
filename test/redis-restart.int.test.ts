import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { eventually, postEvents, startTestDeck } from './support/eventdeck.ts';
import { expectReadModelsToEqualFold } from './support/expect-fold.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let deck: RunningEventDeck;
let client: RedisClient;

beforeAll(async () => {
  redis = await startTestRedis({ appendonly: true });
  // The projector is under test: no history role (and no chDB) in this process.
  deck = await startTestDeck({
    redisUrl: redis.url,
    env: { EVENTDECK_BATCH_SIZE: '25', EVENTDECK_LEASE_TTL_MS: '2000', EVENTDECK_ROLES: 'api,projector' },
  });
  client = await connectRedis(redis.url);
});

afterAll(async () => {
  await client?.close();
  await deck?.stop();
  await redis?.stop();
});

async function publish(deliveries: readonly unknown[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += 500) {
    // Ingest answers 503 while Redis is away; a producer sends the same batch again.
    await eventually(() => postEvents(deck.url, deliveries.slice(i, i + 500)), (r) => r.status === 202, 30_000);
  }
}

describe('a Redis restart (AOF on)', () => {
  it('loses nothing acknowledged and counts nothing twice: the read models end equal to the in-order fold', async () => {
    const before = recentFlows(400, 21);
    await publish(before);
    // Kill Redis while the projector works through the backlog, then start it again from its AOF.
    await eventually(() => client.exists('eventdeck:rm:orders:counts'), (n) => n === 1);
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.restart();
    const after = recentFlows(100, 22);
    await publish(after);
    await expectReadModelsToEqualFold(deck.url, client, distinct([...before, ...after]));
    expect(await postEvents(deck.url, before.slice(0, 10)).then((r) => r.json())).toMatchObject({ accepted: 0, duplicates: 10 });
  });
});
