/** Typed data of the built-in order-fulfilment events (newest version of each). */

export interface StockLine { sku: string; qty: number }
export interface PricedLine extends StockLine { unitPrice: number }

export interface OrderPlaced {
  orderId: string; customerId: string; warehouseId: string;
  channel: 'web' | 'app' | 'store' | 'marketplace';
  currency: string; items: PricedLine[]; total: number;
}
export interface InventoryReserved { orderId: string; warehouseId: string; items: StockLine[] }
export interface InventoryReservationFailed extends InventoryReserved { reason: string }
export interface InventoryReleased extends InventoryReserved { reason: string }
export interface PaymentAuthorized { orderId: string; paymentId: string; amount: number; currency: string; method: string }
export interface PaymentFailed { orderId: string; paymentId: string; amount: number; currency: string; reason: string }
export interface PaymentRefunded { orderId: string; paymentId: string; amount: number; currency: string }
export interface OrderCancelled { orderId: string; reason: string }
export interface ShipmentCreated { orderId: string; shipmentId: string; warehouseId: string; carrier: string; items: StockLine[] }
export interface ShipmentDelivered { orderId: string; shipmentId: string }
export interface InventoryReceived { warehouseId: string; sku: string; qty: number }
export interface InventoryAdjusted { warehouseId: string; sku: string; delta: number; reason: string }

/** type name → data shape, for narrowing in projections. */
export interface DomainEvents {
  'order.placed': OrderPlaced;
  'inventory.reserved': InventoryReserved;
  'inventory.reservation_failed': InventoryReservationFailed;
  'inventory.released': InventoryReleased;
  'payment.authorized': PaymentAuthorized;
  'payment.failed': PaymentFailed;
  'payment.refunded': PaymentRefunded;
  'order.cancelled': OrderCancelled;
  'shipment.created': ShipmentCreated;
  'shipment.delivered': ShipmentDelivered;
  'inventory.received': InventoryReceived;
  'inventory.adjusted': InventoryAdjusted;
}

export type DomainEventType = keyof DomainEvents;
