import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { orderFulfilmentTypes } from '../../shared/event-types/order-fulfilment.ts';
import { createRegistry } from '../../shared/registry.ts';
import { blotOut, MASKED as MASK, maskEvent, maskSensitive } from './mask-sensitive.ts';
import type { EventTypeDefinition } from '../../shared/registry.ts';

const registry = createRegistry(orderFulfilmentTypes);
const placed = (data: Record<string, unknown>, dataversion = 1): CloudEvent => ({
  specversion: '1.0', id: 'e-1', source: '/shop', type: 'order.placed', time: '2026-11-26T10:00:00Z', dataversion, partitionkey: 'o-1', data,
});

describe('masking sensitive fields', () => {
  it('masks the fields the schemas of the event’s type mark x-sensitive, and nothing else', () => {
    const { value, hidden } = maskEvent(registry, placed({ orderId: 'o-1', customerId: 'cust-42', warehouseId: 'w1', total: 3 }));
    expect(value.data).toEqual({ orderId: 'o-1', customerId: MASK, warehouseId: 'w1', total: 3 });
    expect(hidden).toEqual(['cust-42']);
  });

  it('masks with every version of the type when the event’s version is unknown', () => {
    expect(maskEvent(registry, placed({ customerId: 'cust-42' }, 9)).value.data).toEqual({ customerId: MASK });
  });

  it('follows nested objects, arrays and combinators, and masks a sensitive object whole', () => {
    const schema = {
      type: 'object',
      properties: {
        lines: { type: 'array', items: { properties: { email: { type: 'string', 'x-sensitive': true } } } },
        contact: { 'x-sensitive': true, type: 'object' },
      },
      allOf: [{ properties: { phone: { 'x-sensitive': true } } }],
      additionalProperties: { properties: { name: { 'x-sensitive': true } } },
    };
    const definition = { type: 'x', versions: [{ version: 1, status: 'active', schema }] } as unknown as EventTypeDefinition;
    const { data: value, hidden } = maskSensitive({
      lines: [{ email: 'a@b.example', qty: 1 }], contact: { street: 'Main St 1' }, phone: '+49 30 1234', other: { name: 'Ann', age: 3 },
    }, definition);
    expect(value).toEqual({ lines: [{ email: MASK, qty: 1 }], contact: MASK, phone: MASK, other: { name: MASK, age: 3 } });
    expect(hidden.sort()).toEqual(['+49 30 1234', 'Ann', 'Main St 1', 'a@b.example']);
  });

  it('blots hidden values out of text about the event, leaving very short ones', () => {
    expect(blotOut('TypeError: customer cust-42 has no items (cust-42, 7)', ['cust-42', '7'])).toBe(`TypeError: customer ${MASK} has no items (${MASK}, 7)`);
  });
});
