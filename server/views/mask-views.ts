/**
 * What readers without the `pii:read` right see of the views and order
 * details: sensitive values masked. The Order read model copies one sensitive
 * field, order.placed's `customerId` (marked in its schema); timeline entries
 * carry whole event data, masked by its type's schema (mask-sensitive.ts).
 */
import { MASKED } from '../../shared/cloudevent.ts';
import type { Order, TimelineEntry } from '../../shared/read-models.ts';
import type { Registry } from '../../shared/registry.ts';
import type { OrderDetail, ViewSnapshot, ViewStates } from '../../shared/views.ts';
import { maskSensitive } from '../registry/mask-sensitive.ts';

export function maskOrder(order: Order): Order {
  return order.customerId === null ? order : { ...order, customerId: MASKED };
}

export function maskTimeline(registry: Registry, timeline: readonly TimelineEntry[]): TimelineEntry[] {
  return timeline.map((entry) => ({ ...entry, data: maskSensitive(entry.data, registry.get(entry.type)).data }));
}

export function maskOrderDetail(registry: Registry, detail: OrderDetail): OrderDetail {
  return { order: maskOrder(detail.order), timeline: maskTimeline(registry, detail.timeline) };
}

/** A view's state as a reader without `pii:read` may see it (only the orders view holds personal data). */
export function maskState(view: string, state: unknown): unknown {
  if (view !== 'orders') return state;
  const orders = state as ViewStates['orders'];
  return { ...orders, orders: orders.orders.map(maskOrder) };
}

export function maskSnapshot(snapshot: ViewSnapshot): ViewSnapshot {
  return { ...snapshot, state: maskState(snapshot.view, snapshot.state) } as ViewSnapshot;
}
