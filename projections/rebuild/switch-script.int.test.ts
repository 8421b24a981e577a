/**
 * The switch against a real Redis: it replaces the live keys with the staged
 * ones only where the live checkpoints are, applies the entries the live
 * projector committed past the folded position (and no more), respells the
 * checkpoints, and changes nothing when a checkpoint is elsewhere or the lock
 * is not the rebuild's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { readModelKeyPatterns, readModelKeys, rebuildKeys } from '../../shared/read-models.ts';
import { checkpointKey, compareStreamIds } from '../../shared/streams.ts';
import { inventoryReceived } from '../../test/support/events.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { inventoryProjection } from '../inventory/index.ts';
import { KeyPatterns } from './key-patterns.ts';
import { ModelFold } from './model-fold.ts';
import { gatherReplaced, writeStaging } from './staging.ts';
import { trySwitch, type TailEntry } from './switch-script.ts';

const NAME = 'inventory';
const OWNER = 'rebuild-1';
let redis: TestRedis;
let client: RedisClient;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
});
afterEach(() => client.flushAll());
afterAll(async () => {
  await client?.close();
  await redis?.stop();
});

/** A corrupted live inventory and a staged one with 5 mugs in w-1, folded up to 5-0 in partition 0 (1 partition). */
async function prepare(): Promise<void> {
  await client.hSet(readModelKeys.inventory('w-1'), 'mug|onHand', '999');
  await client.hSet(readModelKeys.inventory('ghost'), 'x|onHand', '1');
  await client.sAdd(readModelKeys.inventoryWarehouses, ['w-1', 'ghost']);
  await client.set(checkpointKey(NAME, 0), '5-0');
  await client.set(rebuildKeys.lock(NAME), OWNER);
  const fold = new ModelFold(inventoryProjection);
  fold.add(inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 5 }));
  const patterns = new KeyPatterns(NAME, readModelKeyPatterns[NAME]!);
  expect(await gatherReplaced(client, NAME, patterns)).toBe(3);
  await writeStaging(client, fold, patterns);
}

/** Entries after 5-0: 6-0 received 1 mug, 7-0 received 10. */
const tail: TailEntry[] = [
  { id: '6-0', writes: [{ op: 'hincr', key: readModelKeys.inventory('w-1'), field: 'mug|onHand', by: 1 }] },
  { id: '7-0', writes: [{ op: 'hincr', key: readModelKeys.inventory('w-1'), field: 'mug|onHand', by: 10 }] },
];
const request = { projection: NAME, views: inventoryProjection.views, owner: OWNER, partitions: [{ foldedUpTo: '5-0', tail }] };

describe('the switch', () => {
  it('puts the new model in place with the entries the live projector committed since, and respells the checkpoint', async () => {
    await prepare();
    await client.set(checkpointKey(NAME, 0), '6-0'); // the projector committed 6-0 meanwhile
    const versions = await client.mGet(inventoryProjection.views.map(readModelKeys.viewVersion));
    expect(await trySwitch(client, request)).toEqual({ outcome: 'switched' });
    expect(await client.hGetAll(readModelKeys.inventory('w-1'))).toEqual({ 'mug|onHand': '6' });
    expect(await client.exists(readModelKeys.inventory('ghost'))).toBe(0);
    expect(await client.sMembers(readModelKeys.inventoryWarehouses)).toEqual(['w-1']);
    const checkpoint = (await client.get(checkpointKey(NAME, 0)))!;
    expect(checkpoint).not.toBe('6-0');
    expect(compareStreamIds(checkpoint, '6-0')).toBe(0);
    expect(await client.mGet(inventoryProjection.views.map(readModelKeys.viewVersion)))
      .toEqual(versions.map((v) => String(Number(v ?? 0) + 1)));
    expect(await client.keys('eventdeck:rebuild:inventory:*')).toEqual([rebuildKeys.lock(NAME)]);
  });

  it('starts a key the entries write from the new model, not from what the live projector wrote after the keys were gathered', async () => {
    await prepare();
    // The projector committed 6-0 (the first mugs of a new warehouse) after the live keys were gathered.
    await client.hSet(readModelKeys.inventory('w-2'), 'mug|onHand', '1');
    await client.set(checkpointKey(NAME, 0), '6-0');
    const withNewWarehouse = [{ foldedUpTo: '5-0', tail: [
      { id: '6-0', writes: [{ op: 'hincr' as const, key: readModelKeys.inventory('w-2'), field: 'mug|onHand', by: 1 }] },
      ...tail.slice(1),
    ] }];
    expect(await trySwitch(client, { ...request, partitions: withNewWarehouse })).toEqual({ outcome: 'switched' });
    expect(await client.hGetAll(readModelKeys.inventory('w-2'))).toEqual({ 'mug|onHand': '1' });
    expect(await client.hGetAll(readModelKeys.inventory('w-1'))).toEqual({ 'mug|onHand': '5' });
  });

  it('answers where the checkpoints are, changing nothing, when one is past the entries it was given', async () => {
    await prepare();
    await client.set(checkpointKey(NAME, 0), '9-0');
    expect(await trySwitch(client, request)).toEqual({ outcome: 'moved', checkpoints: ['9-0'] });
    expect(await client.hGetAll(readModelKeys.inventory('w-1'))).toEqual({ 'mug|onHand': '999' });
    expect(await client.exists(readModelKeys.inventory('ghost'))).toBe(1);
    expect(await client.get(checkpointKey(NAME, 0))).toBe('9-0');
    expect(await client.sCard(rebuildKeys.staged(NAME))).toBeGreaterThan(0);
  });

  it('does nothing for a rebuild that no longer holds the lock', async () => {
    await prepare();
    await client.set(rebuildKeys.lock(NAME), 'another');
    expect(await trySwitch(client, request)).toEqual({ outcome: 'lock-lost' });
    expect(await client.hGetAll(readModelKeys.inventory('w-1'))).toEqual({ 'mug|onHand': '999' });
  });
});
