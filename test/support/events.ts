/**
 * Factories for the built-in order-fulfilment events, valid per their v1
 * schemas, with sensible defaults: override only what a test is about.
 * Every call gets a fresh id; pass `{ id }` to make a redelivery of the same event.
 */
import type { CloudEvent, JsonObject } from '../../shared/cloudevent.ts';
import type { DomainEvents, DomainEventType } from '../../shared/domain.ts';

/** The time of events that do not say otherwise. */
export const T0 = '2026-11-26T10:00:00.000Z';

/** T0 plus some seconds, as RFC 3339 UTC. */
export function at(seconds: number): string {
  return new Date(Date.parse(T0) + seconds * 1000).toISOString();
}

export type Envelope = Partial<Omit<CloudEvent, 'type' | 'data'>>;

let sequence = 0;

/** Any built-in event: partitionkey, subject and correlationid follow the type's rules. */
export function domainEvent<T extends DomainEventType>(type: T, data: DomainEvents[T], envelope: Envelope = {}): CloudEvent {
  const fields = data as unknown as JsonObject;
  const orderId = typeof fields.orderId === 'string' ? fields.orderId : undefined;
  const partitionkey = orderId ?? `${String(fields.warehouseId)}:${String(fields.sku)}`;
  sequence += 1;
  return {
    specversion: '1.0',
    id: `evt-${sequence}`,
    source: '/test',
    type,
    time: T0,
    dataversion: 1,
    partitionkey,
    ...(orderId !== undefined ? { subject: orderId, correlationid: orderId } : {}),
    data: fields,
    ...envelope,
  };
}

type Factory<T extends DomainEventType> = (data?: Partial<DomainEvents[T]>, envelope?: Envelope) => CloudEvent;

const factory = <T extends DomainEventType>(type: T, defaults: DomainEvents[T]): Factory<T> =>
  (data = {}, envelope = {}) => domainEvent(type, { ...defaults, ...data }, envelope);

const order = { orderId: 'o-1', warehouseId: 'w-1' };
const items = [{ sku: 'sku-1', qty: 2 }];

export const orderPlaced = factory('order.placed', {
  ...order, customerId: 'c-1', channel: 'web', currency: 'EUR', items: [{ sku: 'sku-1', qty: 2, unitPrice: 10 }], total: 20,
});
export const inventoryReserved = factory('inventory.reserved', { ...order, items });
export const reservationFailed = factory('inventory.reservation_failed', { ...order, items, reason: 'out of stock' });
export const inventoryReleased = factory('inventory.released', { ...order, items, reason: 'payment failed' });
export const paymentAuthorized = factory('payment.authorized', {
  orderId: 'o-1', paymentId: 'p-1', amount: 20, currency: 'EUR', method: 'card',
});
export const paymentFailed = factory('payment.failed', {
  orderId: 'o-1', paymentId: 'p-1', amount: 20, currency: 'EUR', reason: 'card declined',
});
export const paymentRefunded = factory('payment.refunded', { orderId: 'o-1', paymentId: 'p-1', amount: 20, currency: 'EUR' });
export const orderCancelled = factory('order.cancelled', { orderId: 'o-1', reason: 'payment failed' });
export const shipmentCreated = factory('shipment.created', { ...order, shipmentId: 's-1', carrier: 'dhl', items });
export const shipmentDelivered = factory('shipment.delivered', { orderId: 'o-1', shipmentId: 's-1' });
export const inventoryReceived = factory('inventory.received', { warehouseId: 'w-1', sku: 'sku-1', qty: 10 });
export const inventoryAdjusted = factory('inventory.adjusted', { warehouseId: 'w-1', sku: 'sku-1', delta: -1, reason: 'count' });

/** The same event delivered again: an equal copy, not the same object. */
export const redelivery = (event: CloudEvent): CloudEvent => structuredClone(event);
