/** The public Order and timeline out of a stored order document (which also holds projection bookkeeping). */
import { orderStatus, type Order, type TimelineEntry } from '../../shared/read-models.ts';

type Stored = Partial<Order> & { orderId: string; timeline?: TimelineEntry[] };

export function toOrder(stored: Stored): Order {
  const stages = stored.stages ?? {};
  return {
    orderId: stored.orderId,
    customerId: stored.customerId ?? null,
    warehouseId: stored.warehouseId ?? null,
    channel: stored.channel ?? null,
    currency: stored.currency ?? null,
    total: stored.total ?? null,
    itemCount: stored.itemCount ?? 0,
    stages,
    status: orderStatus(stages),
    paymentFailures: stored.paymentFailures ?? 0,
    refunded: stored.refunded ?? 0,
    cancelReason: stored.cancelReason ?? null,
    lastEventAt: stored.lastEventAt ?? '',
  };
}

export function toTimeline(stored: Stored): TimelineEntry[] {
  return stored.timeline ?? [];
}
