import { describe, expect, it } from 'vitest';
import { orderFulfilmentTypes } from '../../shared/event-types/order-fulfilment.ts';
import { schemaFields } from './schema-fields.ts';

describe('a data schema as a table of fields', () => {
  it('lists order.placed with nested item fields, types, requiredness, constraints and the sensitive mark', () => {
    const schema = orderFulfilmentTypes.find((t) => t.type === 'order.placed')!.versions[0]!.schema;
    const fields = schemaFields(schema);
    expect(fields.map((f) => f.name)).toEqual([
      'orderId', 'customerId', 'warehouseId', 'channel', 'currency', 'items', 'items[].sku', 'items[].qty', 'items[].unitPrice', 'total',
    ]);
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    expect(byName.customerId).toMatchObject({ type: 'string', required: true, sensitive: true, constraints: ['minLength 1', 'maxLength 128'] });
    expect(byName.orderId!.sensitive).toBe(false);
    expect(byName.channel).toMatchObject({ type: 'enum', constraints: ['one of: web, app, store, marketplace'] });
    expect(byName.currency).toMatchObject({ constraints: ['pattern ^[A-Z]{3}$'], description: 'ISO 4217 code' });
    expect(byName.items).toMatchObject({ type: 'array of object', constraints: ['minItems 1'] });
    expect(byName['items[].qty']).toMatchObject({ type: 'integer', required: true, constraints: ['≥ 1'] });
    expect(byName.total).toMatchObject({ type: 'number', constraints: ['≥ 0'] });
  });

  it('follows local $refs and says which fields are optional', () => {
    const fields = schemaFields({
      type: 'object',
      required: ['who'],
      $defs: { person: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email', 'x-sensitive': true }, nick: { type: ['string', 'null'] } } } },
      properties: { who: { $ref: '#/$defs/person' }, tags: { type: 'array', items: { type: 'string' }, uniqueItems: true } },
    });
    expect(fields).toEqual([
      { name: 'who', type: 'object', required: true, constraints: [], sensitive: false, description: null },
      { name: 'who.email', type: 'string', required: true, constraints: ['format email'], sensitive: true, description: null },
      { name: 'who.nick', type: 'string | null', required: false, constraints: [], sensitive: false, description: null },
      { name: 'tags', type: 'array of string', required: false, constraints: ['unique items'], sensitive: false, description: null },
    ]);
  });
});
