import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import { orderFulfilmentTypes } from '../../shared/event-types/order-fulfilment.ts';
import { readModelKeys } from '../../shared/read-models.ts';
import { createRegistry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS, deadLetterKey, ENTRY_FIELDS, streamKey } from '../../shared/streams.ts';
import { orderPlaced } from '../../test/support/events.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { ordersProjection } from '../orders/index.ts';
import type { CounterProjection } from '../projection.ts';
import { redriveDeadLetter, redrivenKey, type DeadLetterToRedrive } from './redrive.ts';

let server: TestRedis;
let redis: RedisClient;
const registry = createRegistry(orderFulfilmentTypes);

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
});

/** A counter projection that throws while `broken` is set: a bug that a fix removes. */
let broken = true;
const COUNTS = 'eventdeck:test:received';
const flakyCounter: CounterProjection = {
  kind: 'counter',
  name: 'flaky',
  views: ['inventory'],
  changes(event) {
    if (broken) throw new TypeError('the flaky projection is broken');
    return [{ op: 'hincr', key: COUNTS, field: String(event.data.sku), by: Number(event.data.qty) }];
  },
};

const received = (id: string, qty: number): CloudEvent => ({
  specversion: '1.0', id, source: '/warehouse', type: 'inventory.received', time: '2026-11-26T10:00:00.000Z', dataversion: 1,
  partitionkey: 'w1:sku-1', data: { warehouseId: 'w1', sku: 'sku-1', qty },
});

/** Writes a dead letter as the projector does, and returns what a re-drive is given. */
async function deadLetter(projection: string, event: CloudEvent | string, partition = 0): Promise<DeadLetterToRedrive> {
  const raw = typeof event === 'string' ? event : JSON.stringify(event);
  const streamId = '1700000000000-1';
  const entryId = await redis.xAdd(deadLetterKey(projection), '*', {
    event: raw, error: 'TypeError: the flaky projection is broken', attempts: '3', streamId, partition: String(partition), failedAt: String(Date.now()),
  });
  return { entryId, event: raw, partition, streamId };
}

const count = async () => Number((await redis.hGet(COUNTS, 'sku-1')) ?? 0);

describe('re-driving a dead letter', () => {
  it('applies it to its projection once the cause is gone, removes the dead letter and remembers the event', async () => {
    broken = true;
    const letter = await deadLetter('flaky', received('r-1', 5));
    expect(await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter })).toEqual({
      outcome: 'failed', error: 'TypeError: the flaky projection is broken',
    });
    expect(await redis.xLen(deadLetterKey('flaky'))).toBe(1);
    expect(await count()).toBe(0);

    broken = false;
    expect(await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter })).toEqual({ outcome: 'applied' });
    expect(await count()).toBe(5);
    expect(await redis.xLen(deadLetterKey('flaky'))).toBe(0);
    expect(await redis.sMembers(redrivenKey('flaky'))).toEqual([eventKey(received('r-1', 5))]);
    expect(await redis.get(readModelKeys.viewVersion('inventory'))).toBe('1');
  });

  it('changes nothing when the same event is re-driven again, even from a second dead letter, and counts it once', async () => {
    broken = false;
    const first = await deadLetter('flaky', received('r-2', 7));
    const second = await deadLetter('flaky', received('r-2', 7));
    expect(await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter: first })).toEqual({ outcome: 'applied' });
    // The projection is broken again: an event applied before is still settled, not failed.
    broken = true;
    expect(await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter: second })).toEqual({ outcome: 'already-applied' });
    broken = false;
    expect(await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter: first })).toEqual({ outcome: 'gone' });
    expect(await count()).toBe(7);
    expect(await redis.xLen(deadLetterKey('flaky'))).toBe(0);
    expect(await redis.get(readModelKeys.viewVersion('inventory'))).toBe('1');
  });

  it('keeps a dead letter whose event still cannot be decoded, and says why', async () => {
    const letter = await deadLetter('flaky', '{not json');
    const result = await redriveDeadLetter({ redis, registry, projection: flakyCounter, letter });
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('cannot decode') });
    expect(await redis.xLen(deadLetterKey('flaky'))).toBe(1);
  });

  it('into a keyed projection, waits while the partition has a batch in flight, then writes the document and its indexes', async () => {
    const event = orderPlaced({ orderId: 'o-redrive', warehouseId: 'w-r' });
    const letter = await deadLetter('orders', event, 3);
    // The live group read an entry of partition 3 and has not committed it: a batch in flight.
    await redis.xAdd(streamKey(3), '*', { [ENTRY_FIELDS.event]: JSON.stringify(orderPlaced({ orderId: 'o-other' })), [ENTRY_FIELDS.acceptedAt]: '0' });
    await redis.xGroupCreate(streamKey(3), CONSUMER_GROUPS.live, '0');
    const read = (await redis.xReadGroup(CONSUMER_GROUPS.live, 'projector-1', { key: streamKey(3), id: '>' })) as Array<{ messages: Array<{ id: string }> }>;

    const busy = await redriveDeadLetter({ redis, registry, projection: ordersProjection, letter, busyWaitMs: 100 });
    expect(busy).toMatchObject({ outcome: 'busy', error: expect.stringContaining('partition 3') });
    expect(await redis.exists(readModelKeys.order('o-redrive'))).toBe(0);
    expect(await redis.xLen(deadLetterKey('orders'))).toBe(1);

    // Committed and acknowledged meanwhile: the waiting re-drive goes through.
    setTimeout(() => void redis.xAck(streamKey(3), CONSUMER_GROUPS.live, read[0]!.messages[0]!.id), 100);
    expect(await redriveDeadLetter({ redis, registry, projection: ordersProjection, letter, busyWaitMs: 5_000 })).toEqual({ outcome: 'applied' });
    const order = JSON.parse((await redis.get(readModelKeys.order('o-redrive')))!);
    expect(order).toMatchObject({ orderId: 'o-redrive', warehouseId: 'w-r', itemCount: 2 });
    expect(await redis.zScore(readModelKeys.ordersRecent, 'o-redrive')).not.toBeNull();
  });
});
