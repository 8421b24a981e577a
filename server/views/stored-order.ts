/** The public Order out of a stored order document (which also holds projection bookkeeping), and its timeline. */
import { orderStatus, type Order, type TimelineEntry } from '../../shared/read-models.ts';

type Stored = Partial<Order> & { orderId: string };

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

/** Timeline entries from their ZSET members (already in time order). */
export function toTimeline(members: string[]): TimelineEntry[] {
  return members.map((member) => JSON.parse(member) as TimelineEntry);
}
