/**
 * The built-in domain: order fulfilment, version 1 of each type (DESIGN.md section 3).
 * These are the registry's first users: plain JSON Schemas, served as they are.
 */
import type { EventTypeDefinition } from '../registry.ts';

const id = { type: 'string', minLength: 1, maxLength: 128 };
const currency = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' };
const money = { type: 'number', minimum: 0 };
const reason = { type: 'string', minLength: 1, maxLength: 512 };

const stockLines = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['sku', 'qty'],
    properties: { sku: id, qty: { type: 'integer', minimum: 1 } },
  },
};

const pricedLines = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['sku', 'qty', 'unitPrice'],
    properties: { sku: id, qty: { type: 'integer', minimum: 1 }, unitPrice: money },
  },
};

function v1(
  type: string,
  description: string,
  partitionKey: string,
  properties: Record<string, unknown>,
): EventTypeDefinition {
  return {
    type,
    description,
    partitionKey,
    versions: [
      {
        version: 1,
        status: 'active',
        schema: { type: 'object', required: Object.keys(properties), properties },
      },
    ],
  };
}

const byOrder = '{orderId}';
const byStockItem = '{warehouseId}:{sku}';

export const orderFulfilmentTypes: EventTypeDefinition[] = [
  v1('order.placed', 'A customer placed an order.', byOrder, {
    orderId: id,
    customerId: { ...id, 'x-sensitive': true },
    warehouseId: id,
    channel: { enum: ['web', 'app', 'store', 'marketplace'] },
    currency,
    items: pricedLines,
    total: money,
  }),
  v1('inventory.reserved', 'Stock was reserved for an order.', byOrder, {
    orderId: id, warehouseId: id, items: stockLines,
  }),
  v1('inventory.reservation_failed', 'Stock could not be reserved for an order.', byOrder, {
    orderId: id, warehouseId: id, items: stockLines, reason,
  }),
  v1('inventory.released', "An order's reservation was released (compensation).", byOrder, {
    orderId: id, warehouseId: id, items: stockLines, reason,
  }),
  v1('payment.authorized', 'A payment for an order was authorised.', byOrder, {
    orderId: id, paymentId: id, amount: money, currency, method: id,
  }),
  v1('payment.failed', 'A payment attempt for an order failed.', byOrder, {
    orderId: id, paymentId: id, amount: money, currency, reason,
  }),
  v1('payment.refunded', 'A payment was refunded (compensation).', byOrder, {
    orderId: id, paymentId: id, amount: money, currency,
  }),
  v1('order.cancelled', 'An order was cancelled.', byOrder, { orderId: id, reason }),
  v1('shipment.created', 'Goods of an order left the warehouse.', byOrder, {
    orderId: id, shipmentId: id, warehouseId: id, carrier: id, items: stockLines,
  }),
  v1('shipment.delivered', 'A shipment reached the customer.', byOrder, {
    orderId: id, shipmentId: id,
  }),
  v1('inventory.received', 'Stock arrived at a warehouse.', byStockItem, {
    warehouseId: id, sku: id, qty: { type: 'integer', minimum: 1 },
  }),
  v1('inventory.adjusted', 'Stock was corrected by a count.', byStockItem, {
    warehouseId: id, sku: id, delta: { type: 'integer' }, reason,
  }),
];
