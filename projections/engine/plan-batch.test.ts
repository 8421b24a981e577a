import { describe, expect, it } from 'vitest';
import { inventoryReceived, orderPlaced, paymentFailed, shipmentCreated } from '../../test/support/events.ts';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { inventoryProjection } from '../inventory/index.ts';
import { ordersProjection } from '../orders/index.ts';
import type { CounterProjection } from '../projection.ts';
import type { Delivery } from './decode.ts';
import { compactChanges, planBatch } from './plan-batch.ts';

let sequence = 0;
const delivered = (event: CloudEvent): Delivery => ({ streamId: `1-${sequence++}`, raw: JSON.stringify(event), acceptedAt: 0, event });

describe('planning a batch', () => {
  it('adds up the increments of one field, so a batch writes each field once', () => {
    const plan = planBatch(inventoryProjection, [
      delivered(inventoryReceived({ warehouseId: 'w', sku: 'a', qty: 3 })),
      delivered(inventoryReceived({ warehouseId: 'w', sku: 'a', qty: 4 })),
      delivered(shipmentCreated({ warehouseId: 'w', items: [{ sku: 'a', qty: 2 }] })),
    ]);
    expect(plan.changes.filter((c) => c.op === 'hincr')).toEqual([
      { op: 'hincr', key: 'eventdeck:rm:inventory:w', field: 'a|onHand', by: 5 },
      { op: 'hincr', key: 'eventdeck:rm:inventory:w', field: 'a|reserved', by: -2 },
    ]);
    expect(plan).toMatchObject({ applied: 3, failures: [] });
  });

  it('sets aside an event a projection throws on, and still applies the others in order', () => {
    const broken = orderPlaced({ orderId: 'o-1' });
    (broken.data as Record<string, unknown>).items = 'lots';
    const plan = planBatch(ordersProjection, [delivered(broken), delivered(paymentFailed({ orderId: 'o-1' }))]);
    expect(plan.failures).toHaveLength(1);
    expect(plan.failures[0]!.delivery.streamId).toBe(`1-${sequence - 2}`);
    expect(plan.failures[0]!.error).toMatch(/^TypeError: /);
    expect(plan.documents).toHaveLength(1);
    expect(JSON.parse(plan.documents[0]!.json)).toMatchObject({ orderId: 'o-1', paymentFailures: 1, total: null });
  });

  it('treats an entry that cannot be decoded as a failure of the projection', () => {
    const plan = planBatch(inventoryProjection, [{ streamId: '1-1', raw: '{', acceptedAt: 0, decodeError: 'cannot decode the entry' }]);
    expect(plan.failures).toEqual([expect.objectContaining({ error: 'cannot decode the entry' })]);
  });

  it('refuses a fractional increment before it reaches Redis, where a script would stop half-way', () => {
    const sloppy: CounterProjection = {
      kind: 'counter', name: 'sloppy', views: [],
      changes: () => [{ op: 'hincr', key: 'k', field: 'f', by: 0.5 }],
    };
    const plan = planBatch(sloppy, [delivered(inventoryReceived())]);
    expect(plan.failures[0]!.error).toContain('must be a whole number');
    expect(plan.changes).toEqual([]);
  });
});

describe('compacting changes', () => {
  it('keeps the last set operation of each member, which alone decides the outcome, and sums increments', () => {
    expect(compactChanges([
      { op: 'zadd', key: 'z', member: 'a', score: 1 },
      { op: 'hincr', key: 'h', field: 'f', by: 2 },
      { op: 'zrem', key: 'z', member: 'a' },
      { op: 'zadd', key: 'z', member: 'b', score: 5 },
      { op: 'hincr', key: 'h', field: 'f', by: -2 },
      { op: 'zadd', key: 'z', member: 'a', score: 3 },
      { op: 'sadd', key: 's', member: 'a' },
      { op: 'zrem', key: 'z', member: 'b' },
    ])).toEqual([
      { op: 'zadd', key: 'z', member: 'a', score: 3 },
      { op: 'sadd', key: 's', member: 'a' },
      { op: 'zrem', key: 'z', member: 'b' },
    ]);
  });
});
