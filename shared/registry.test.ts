import { describe, expect, it } from 'vitest';
import type { CloudEvent } from './cloudevent.ts';
import { applyPartitionKeyRule, createRegistry, upcast } from './registry.ts';

const registry = createRegistry([{
  type: 'loyalty.points_earned',
  partitionKey: '{customerId}',
  versions: [
    { version: 3, status: 'active', schema: {}, upcast: { remove: ['legacyFlag'] } },
    { version: 1, status: 'deprecated', schema: {} },
    { version: 2, status: 'active', schema: {}, upcast: { rename: { points: 'amount' }, defaults: { programme: 'standard' } } },
  ],
}]);

const event = (dataversion: number, data: Record<string, unknown>): CloudEvent => ({
  specversion: '1.0', id: 'e1', source: '/loyalty', type: 'loyalty.points_earned', time: '2026-11-26T10:00:00Z',
  dataversion, partitionkey: 'c-1', data,
});

describe('upcasting', () => {
  it('brings a version 1 event to the newest version through every upcaster in turn', () => {
    const upcast1 = upcast(registry, event(1, { customerId: 'c-1', points: 40, legacyFlag: true }));
    expect(upcast1.dataversion).toBe(3);
    expect(upcast1.data).toEqual({ customerId: 'c-1', amount: 40, programme: 'standard' });
  });

  it('keeps a value the producer sent over an upcaster default, and leaves newest events as they are', () => {
    expect(upcast(registry, event(2, { customerId: 'c-1', amount: 5, programme: 'gold', legacyFlag: 1 })).data)
      .toEqual({ customerId: 'c-1', amount: 5, programme: 'gold' });
    const newest = event(3, { customerId: 'c-1', amount: 1, programme: 'x' });
    expect(upcast(registry, newest)).toBe(newest);
  });

  it('does not change the event it was given', () => {
    const original = event(1, { customerId: 'c-1', points: 2 });
    upcast(registry, original);
    expect(original.data).toEqual({ customerId: 'c-1', points: 2 });
  });
});

describe('partition key rules', () => {
  it('fills the template from data fields, and gives up when one is missing', () => {
    expect(applyPartitionKeyRule('{warehouseId}:{sku}', { warehouseId: 'w1', sku: 'mug' })).toBe('w1:mug');
    expect(applyPartitionKeyRule('{orderId}', { orderId: 42 })).toBe('42');
    expect(applyPartitionKeyRule('{warehouseId}:{sku}', { warehouseId: 'w1' })).toBeUndefined();
  });
});
