/** The public Order out of a stored order document (which also holds projection bookkeeping), and its timeline. */
import { orderStatus, readModelKeys, type Order, type TimelineEntry } from '../../shared/read-models.ts';
import type { OrderDetail } from '../../shared/views.ts';
import type { ReadModelSource } from './read-model-source.ts';

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

/** One order and its timeline (`GET /api/orders/:orderId`); undefined for an order never seen. */
export async function readOrderDetail(source: Pick<ReadModelSource, 'get' | 'zRange'>, orderId: string): Promise<OrderDetail | undefined> {
  const [json, steps] = await Promise.all([source.get(readModelKeys.order(orderId)), source.zRange(readModelKeys.orderTimeline(orderId), 0, -1)]);
  return json ? { order: toOrder(JSON.parse(json)), timeline: toTimeline(steps) } : undefined;
}
