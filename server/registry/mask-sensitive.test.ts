import { describe, expect, it } from 'vitest';
import { orderFulfilmentTypes } from '../../shared/event-types/order-fulfilment.ts';
import { MASKED } from '../../shared/lineage.ts';
import type { EventTypeDefinition } from '../../shared/registry.ts';
import { maskSensitive } from './mask-sensitive.ts';

const placed = orderFulfilmentTypes.find((t) => t.type === 'order.placed')!;

const loyalty: EventTypeDefinition = {
  type: 'loyalty.points_earned',
  partitionKey: '{customerId}',
  versions: [
    { version: 1, status: 'deprecated', schema: { type: 'object', properties: { customerId: { type: 'string', 'x-sensitive': true }, points: { type: 'integer' } } } },
    // Version 2 forgot the mark: events stored as either version stay masked.
    { version: 2, status: 'active', schema: {
      type: 'object',
      $defs: { contact: { type: 'object', properties: { email: { type: 'string', 'x-sensitive': true }, city: { type: 'string' } } } },
      properties: {
        customerId: { type: 'string' },
        contacts: { type: 'array', items: { $ref: '#/$defs/contact' } },
        notes: { type: 'object', additionalProperties: { type: 'string', 'x-sensitive': true } },
      },
    } },
  ],
};

describe('masking sensitive fields', () => {
  it('replaces the fields the schema marks x-sensitive, and names them by JSON pointer', () => {
    const data = { orderId: 'o-1', customerId: 'c-42', total: 20 };
    expect(maskSensitive(data, placed)).toEqual({ data: { orderId: 'o-1', customerId: MASKED, total: 20 }, masked: ['/customerId'], hidden: ['c-42'] });
    expect(data.customerId).toBe('c-42'); // the input is left alone
  });

  it('masks a field any version marks, in arrays, behind $ref and in maps', () => {
    const data = {
      customerId: 'c-1', points: 3,
      contacts: [{ email: 'a@example.org', city: 'Berlin' }, { city: 'Lyon' }],
      notes: { first: 'called twice', 'a/b': 'x' },
    };
    const { data: masked, masked: pointers } = maskSensitive(data, loyalty);
    expect(masked).toEqual({
      customerId: MASKED, points: 3,
      contacts: [{ email: MASKED, city: 'Berlin' }, { city: 'Lyon' }],
      notes: { first: MASKED, 'a/b': MASKED },
    });
    expect(pointers).toEqual(['/contacts/0/email', '/customerId', '/notes/a~1b', '/notes/first']);
  });

  it('withholds the data of a type the registry does not know', () => {
    expect(maskSensitive({ email: 'a@example.org' }, undefined)).toEqual({ data: {}, masked: [''], hidden: ['a@example.org'] });
  });
});
